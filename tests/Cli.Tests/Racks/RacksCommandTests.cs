using Millisampler.Cli.Tests.Infrastructure;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;

namespace Millisampler.Cli.Tests.Racks;

public class RacksCommandTests
{
    [Fact]
    public async Task Racks_OneRowPerHostWithLinkClockAndHealth()
    {
        var service = new FakeCoordinatorService();
        var rack = new Rack { Rack_ = "r1" };
        var h1 = new HostMember
        {
            Host = "h1",
            Address = "10.0.0.1:7500",
            Health = "healthy",
            Clock = new ClockState { Synchronized = true, MaxErrorNs = 20_000 },
            LastSeenUnixNs = TimeNs.FromUnix(CliRun.Now.AddSeconds(-3)),
        };
        h1.Interfaces.Add(new InterfaceInfo { Name = "eth0", LinkSpeedBitsPerSecond = 25_000_000_000 });
        var h2 = new HostMember
        {
            Host = "h2",
            Address = "10.0.0.2:7500",
            Health = "stale",
            Clock = new ClockState { Synchronized = false, MaxErrorNs = 16_000_000_000 },
            LastSeenUnixNs = TimeNs.FromUnix(CliRun.Now.AddMinutes(-10)),
        };
        h2.Interfaces.Add(new InterfaceInfo { Name = "veth0" });
        rack.Hosts.AddRange([h2, h1]);
        service.Racks.Racks.Add(rack);
        await using FakeCoordinator fake = await FakeCoordinator.StartAsync(service);

        CliResult r = await CliRun.RunAsync("racks", "--coordinator", fake.Address.ToString());

        Assert.Equal(ExitCodes.Ok, r.ExitCode);
        Assert.Matches(@"(?m)^RACK\s+HOST\s+ADDRESS\s+LINK\s+CLOCK\s+CLOCK ERROR\s+HEALTH\s+LAST SEEN$", r.Stdout);
        Assert.Matches(@"(?m)^r1\s+h1\s+10.0.0.1:7500\s+eth0 25 Gbit/s\s+synced\s+20us\s+healthy\s+2025-11-22 14:59:57.000 UTC \(3s ago\)$", r.Stdout);
        Assert.Matches(@"(?m)^r1\s+h2\s+10.0.0.2:7500\s+veth0 unknown\s+UNSYNCED\s+16s\s+stale\s+2025-11-22 14:50:00.000 UTC \(10m ago\)$", r.Stdout);
        Assert.True(r.Stdout.IndexOf("h1", StringComparison.Ordinal) < r.Stdout.IndexOf("h2", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Racks_NoneRegistered_SaysSo()
    {
        await using FakeCoordinator fake = await FakeCoordinator.StartAsync();

        CliResult r = await CliRun.RunAsync("racks", "--coordinator", fake.Address.ToString());

        Assert.Equal(ExitCodes.Ok, r.ExitCode);
        Assert.Equal("No racks: no agent has registered yet.", r.Stdout.Trim());
    }
}
