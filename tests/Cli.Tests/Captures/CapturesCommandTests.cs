using Millisampler.Cli.Tests.Infrastructure;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;

namespace Millisampler.Cli.Tests.Captures;

public class CapturesCommandTests
{
    [Fact]
    public async Task List_SinceAndRackAndLimit_BecomeTheRequestAndRowsArePrinted()
    {
        var service = new FakeCoordinatorService();
        service.CaptureList.Captures.Add(new Capture
        {
            CaptureId = "c2",
            Rack = "r1",
            State = CaptureState.Analysed,
            Bins = 2000,
            BinWidthNs = 1_000_000,
            RequestedAtUnixNs = 1_763_823_000_000_000_000,
            HostsCovered = 3,
            HostsRequested = 4,
        });
        service.CaptureList.Captures.Add(new Capture
        {
            CaptureId = "c1",
            Rack = "r1",
            State = CaptureState.Failed,
            Bins = 500,
            BinWidthNs = 100_000,
            RequestedAtUnixNs = 1_763_822_000_000_000_000,
            HostsRequested = 2,
            Detail = "no host returned data",
        });
        await using FakeCoordinator fake = await FakeCoordinator.StartAsync(service);

        CliResult r = await CliRun.RunAsync("captures", "list", "--coordinator", fake.Address.ToString(), "--rack", "r1", "--since", "1h", "--limit", "5");

        Assert.Equal(ExitCodes.Ok, r.ExitCode);
        ListCapturesRequest sent = Assert.Single(service.ListRequests);
        Assert.Equal("r1", sent.Rack);
        Assert.Equal(5u, sent.Limit);
        Assert.Equal(TimeNs.FromUnix(CliRun.Now.AddHours(-1)), sent.FromUnixNs);
        Assert.Equal(0, sent.ToUnixNs);
        Assert.Matches(@"(?m)^c2\s+r1\s+analysed\s+2025-11-22 14:50:00.000\s+2000 x 1ms\s+3/4$", r.Stdout);
        Assert.Matches(@"(?m)^c1\s+r1\s+failed\s+2025-11-22 14:33:20.000\s+500 x 100us\s+0/2\s+no host returned data$", r.Stdout);
    }

    [Fact]
    public async Task List_Nothing_SaysSo()
    {
        await using FakeCoordinator fake = await FakeCoordinator.StartAsync();

        CliResult r = await CliRun.RunAsync("captures", "list", "--coordinator", fake.Address.ToString());

        Assert.Equal(ExitCodes.Ok, r.ExitCode);
        Assert.Equal("No captures.", r.Stdout.Trim());
        Assert.Equal(0, Assert.Single(fake.Service.ListRequests).FromUnixNs);
    }

    [Fact]
    public async Task Show_PrintsTheSameSummaryAsCaptureWait()
    {
        await using FakeCoordinator fake = await FakeCoordinator.StartAsync();
        fake.Service.Captures["c1"] = TestCaptures.Analysed("c1");

        CliResult r = await CliRun.RunAsync("captures", "show", "c1", "--coordinator", fake.Address.ToString());

        Assert.Equal(ExitCodes.Ok, r.ExitCode);
        Assert.StartsWith("Capture c1 on rack r1: analysed", r.Stdout);
        Assert.Contains("Hosts: 3 of 4 covered", r.Stdout);
        Assert.Contains("Bursts: 12", r.Stdout);
    }

    [Fact]
    public async Task Show_UnknownCapture_ExitsOneWithNotFound()
    {
        await using FakeCoordinator fake = await FakeCoordinator.StartAsync();

        CliResult r = await CliRun.RunAsync("captures", "show", "nope", "--coordinator", fake.Address.ToString());

        Assert.Equal(ExitCodes.Failed, r.ExitCode);
        Assert.Equal("error: NotFound: capture 'nope' not found", r.Stderr.TrimEnd());
    }
}
