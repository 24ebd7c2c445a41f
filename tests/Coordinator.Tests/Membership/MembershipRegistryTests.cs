using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Membership;

namespace Millisampler.Coordinator.Tests.Membership;

public sealed class MembershipRegistryTests
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero));
    private readonly MembershipRegistry _registry;

    public MembershipRegistryTests()
    {
        var options = new MembershipOptions { HeartbeatInterval = TimeSpan.FromSeconds(5), ForgetStaleHostAfter = TimeSpan.FromMinutes(10) };
        _registry = new MembershipRegistry(new StaticOptionsMonitor<MembershipOptions>(options), _time,
            new TimeProviderTaiClock(_time, 37), NullLogger<MembershipRegistry>.Instance);
    }

    private static RegisterRequest Register(string host, string rack = "r1", string address = "10.0.0.1:7000", ulong speed = 25_000_000_000)
    {
        var r = new RegisterRequest { Host = host, Rack = rack, Address = address, Clock = new ClockState { Synchronized = true, TaiOffsetSeconds = 37 } };
        r.Interfaces.Add(new InterfaceInfo { Name = "eth0", LinkSpeedBitsPerSecond = speed });
        return r;
    }

    [Fact]
    public void Health_ThreeHeartbeatIntervalsWithoutHeartbeat_Stale()
    {
        _registry.Register(Register("h1"));

        _time.Advance(TimeSpan.FromSeconds(15));
        Assert.Equal("healthy", _registry.ListRacks().Racks[0].Hosts[0].Health);

        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal("stale", _registry.ListRacks().Racks[0].Hosts[0].Health);

        _registry.Heartbeat(new HeartbeatRequest { Host = "h1", Rack = "r1" });
        HostMember member = _registry.ListRacks().Racks[0].Hosts[0];
        Assert.Equal("healthy", member.Health);
        Assert.Equal(_time.UnixNowNs(), member.LastSeenUnixNs);
    }

    [Fact]
    public void Heartbeat_UnknownHostOrWrongRack_NotFoundAskingToRegister()
    {
        _registry.Register(Register("h1"));

        RpcException unknown = Assert.Throws<RpcException>(() => _registry.Heartbeat(new HeartbeatRequest { Host = "h9", Rack = "r1" }));
        RpcException wrongRack = Assert.Throws<RpcException>(() => _registry.Heartbeat(new HeartbeatRequest { Host = "h1", Rack = "r2" }));

        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        Assert.Contains("register again", unknown.Status.Detail);
        Assert.Equal(StatusCode.NotFound, wrongRack.StatusCode);
    }

    [Fact]
    public void Register_MissingFields_InvalidArgumentNamingEach()
    {
        RpcException ex = Assert.Throws<RpcException>(() => _registry.Register(new RegisterRequest { Address = "nohostport" }));

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("host: required", ex.Status.Detail);
        Assert.Contains("rack: required", ex.Status.Detail);
        Assert.Contains("address: 'nohostport'", ex.Status.Detail);
    }

    [Fact]
    public void Register_Again_UpdatesRecordAndMovesRack()
    {
        _registry.Register(Register("h1"));
        _registry.Register(Register("h2"));
        _registry.Register(Register("h1", rack: "r2", address: "10.0.0.9:7000"));

        ListRacksResponse racks = _registry.ListRacks();
        Assert.Equal(["r1", "r2"], racks.Racks.Select(r => r.Rack_));
        Assert.Equal("10.0.0.9:7000", racks.Racks[1].Hosts.Single().Address);
        Assert.Equal(["h2"], _registry.HostsOf("r1").Select(h => h.Host));
    }

    [Fact]
    public void RecordRoundTrip_Samples_ExponentiallyWeightedAverage()
    {
        _registry.Register(Register("h1"));

        _registry.RecordRoundTrip("h1", TimeSpan.FromMilliseconds(4));
        _registry.RecordRoundTrip("h1", TimeSpan.FromMilliseconds(8));

        Assert.Equal(TimeSpan.FromMilliseconds(5), _registry.Find("h1")!.RoundTrip);
    }

    [Fact]
    public void Register_NewAddress_ForgetsRoundTripAndLimits()
    {
        _registry.Register(Register("h1"));
        _registry.RecordRoundTrip("h1", TimeSpan.FromMilliseconds(4));
        _registry.RecordLimits("h1", new AgentLimits(2000, 100_000, 1_000_000_000, 60_000_000_000));

        _registry.Register(Register("h1", address: "10.0.0.2:7000"));

        Assert.Null(_registry.Find("h1")!.RoundTrip);
        Assert.Null(_registry.Find("h1")!.Limits);
    }

    [Fact]
    public void ForgetLongStaleHosts_StaleBeyondLimit_Removed()
    {
        _registry.Register(Register("h1"));
        _registry.Register(Register("h2"));
        _time.Advance(TimeSpan.FromMinutes(10));
        _registry.Heartbeat(new HeartbeatRequest { Host = "h2", Rack = "r1" });
        _time.Advance(TimeSpan.FromSeconds(16));

        Assert.Equal(1, _registry.ForgetLongStaleHosts());
        Assert.Null(_registry.Find("h1"));
        Assert.NotNull(_registry.Find("h2"));
    }

    [Fact]
    public void LinkSpeed_SeveralInterfaces_Summed()
    {
        RegisterRequest r = Register("h1", speed: 10_000_000_000);
        r.Interfaces.Add(new InterfaceInfo { Name = "eth1", LinkSpeedBitsPerSecond = 15_000_000_000 });
        _registry.Register(r);

        Assert.Equal(25_000_000_000UL, _registry.Find("h1")!.LinkSpeedBitsPerSecond);
    }
}

/// <summary>IOptionsMonitor over a fixed value.</summary>
internal sealed class StaticOptionsMonitor<T>(T value) : IOptionsMonitor<T>
{
    public T CurrentValue => value;

    public T Get(string? name) => value;

    public IDisposable? OnChange(Action<T, string?> listener) => null;
}
