using Grpc.Core;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Captures;
using Millisampler.Coordinator.Membership;

namespace Millisampler.Coordinator.Tests.Captures;

public sealed class CaptureRequestValidatorTests
{
    private const long Margin = 10_000_000;

    private static HostState Host(string name, AgentLimits? limits = null) =>
        new(name, "r1", name + ":7000", [], new ClockState(), "1", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, null, limits);

    private static readonly HostState[] Rack = [Host("b"), Host("a"), Host("c")];

    private static StartCaptureRequest Good() => new() { Rack = "r1", BinWidthNs = 1_000_000, Bins = 2000 };

    private static RpcException Reject(StartCaptureRequest r, IReadOnlyList<HostState>? hosts = null) =>
        Assert.Throws<RpcException>(() => CaptureRequestValidator.Validate(r, hosts ?? Rack, ["r1"], Margin));

    [Fact]
    public void Validate_GoodRequest_DefaultsFilledHostsSorted()
    {
        CapturePlan plan = CaptureRequestValidator.Validate(Good(), Rack, ["r1"], Margin);

        Assert.Equal(["a", "b", "c"], plan.Hosts);
        Assert.Equal(0.5, plan.BurstThreshold);
        Assert.Equal(2, plan.EventMinHosts);
        Assert.Equal(0, plan.LeadTimeNs);
    }

    [Theory]
    [InlineData("bin_width_ns", 99_999L, 10u, 0L, 0.0, 0u, "bin_width_ns: 99999 is out of range; allowed 100000..1000000000 ns (100us..1s)")]
    [InlineData("bin_width_ns", 1_000_000_001L, 10u, 0L, 0.0, 0u, "bin_width_ns: 1000000001 is out of range")]
    [InlineData("bins", 1_000_000L, 0u, 0L, 0.0, 0u, "bins: 0 is out of range; allowed 1..2000")]
    [InlineData("bins", 1_000_000L, 2001u, 0L, 0.0, 0u, "bins: 2001 is out of range; allowed 1..2000")]
    [InlineData("lead_time_ns", 1_000_000L, 10u, 5_000_000L, 0.0, 0u, "lead_time_ns: 5000000 is out of range; allowed 0 (derive from round trips) or 11000000..60000000000 ns")]
    [InlineData("lead_time_ns", 1_000_000L, 10u, 60_000_000_001L, 0.0, 0u, "lead_time_ns: 60000000001 is out of range")]
    [InlineData("burst_threshold", 1_000_000L, 10u, 0L, 1.5, 0u, "burst_threshold: 1.5 is out of range; allowed (0, 1]")]
    [InlineData("burst_threshold", 1_000_000L, 10u, 0L, -0.1, 0u, "burst_threshold: -0.1 is out of range")]
    [InlineData("burst_threshold", 1_000_000L, 10u, 0L, double.NaN, 0u, "burst_threshold: NaN is out of range")]
    [InlineData("event_min_hosts", 1_000_000L, 10u, 0L, 0.0, 1u, "event_min_hosts: 1 is out of range; allowed 2..3 (hosts in the capture)")]
    [InlineData("event_min_hosts", 1_000_000L, 10u, 0L, 0.0, 4u, "event_min_hosts: 4 is out of range; allowed 2..3")]
    public void Validate_FieldOutOfRange_InvalidArgumentNamingFieldAndRange(string field, long width, uint bins, long lead, double theta, uint k, string message)
    {
        RpcException ex = Reject(new StartCaptureRequest { Rack = "r1", BinWidthNs = width, Bins = bins, LeadTimeNs = lead, BurstThreshold = theta, EventMinHosts = k });

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.StartsWith(field + ":", ex.Status.Detail);
        Assert.StartsWith(message, ex.Status.Detail);
    }

    [Fact]
    public void Validate_SeveralBadFields_AllNamedInOneError()
    {
        RpcException ex = Reject(new StartCaptureRequest { Rack = "r1", BinWidthNs = 1, Bins = 0, BurstThreshold = 2 });

        Assert.Contains("bin_width_ns:", ex.Status.Detail);
        Assert.Contains("bins:", ex.Status.Detail);
        Assert.Contains("burst_threshold:", ex.Status.Detail);
    }

    [Fact]
    public void Validate_UnknownHostsInSubset_InvalidArgumentNamingThem()
    {
        StartCaptureRequest r = Good();
        r.Hosts.Add("a");
        r.Hosts.Add("zz");
        r.Hosts.Add("yy");

        RpcException ex = Reject(r);

        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Equal("hosts: not registered in rack 'r1': 'zz', 'yy'", ex.Status.Detail);
    }

    [Fact]
    public void Validate_SubsetWithDuplicates_DistinctSorted()
    {
        StartCaptureRequest r = Good();
        r.Hosts.Add("c");
        r.Hosts.Add("a");
        r.Hosts.Add("c");

        Assert.Equal(["a", "c"], CaptureRequestValidator.Validate(r, Rack, ["r1"], Margin).Hosts);
    }

    [Fact]
    public void Validate_MissingRack_InvalidArgument() =>
        Assert.Equal("rack: required", Reject(new StartCaptureRequest { BinWidthNs = 1_000_000, Bins = 10 }).Status.Detail);

    [Fact]
    public void Validate_UnknownRack_NotFoundListingKnownRacks()
    {
        RpcException ex = Assert.Throws<RpcException>(() =>
            CaptureRequestValidator.Validate(new StartCaptureRequest { Rack = "r9", BinWidthNs = 1_000_000, Bins = 10 }, [], ["r1", "r2"], Margin));

        Assert.Equal(StatusCode.NotFound, ex.StatusCode);
        Assert.Contains("'r9'", ex.Status.Detail);
        Assert.Contains("r1, r2", ex.Status.Detail);
    }

    [Fact]
    public void Validate_AgentStatesSmallerMaxBins_BinsRangeNarrowedAndSaid()
    {
        HostState[] hosts = [Host("a", new AgentLimits(1000, 0, 0, 0)), Host("b")];

        RpcException ex = Reject(Good(), hosts);

        Assert.Equal("bins: 2000 is out of range; allowed 1..1000 (the smallest max_bins the selected agents report)", ex.Status.Detail);
    }

    [Fact]
    public void Validate_AgentStatesNarrowerBinWidths_WidthRangeNarrowed()
    {
        HostState[] hosts = [Host("a", new AgentLimits(0, 1_000_000, 100_000_000, 0))];
        StartCaptureRequest r = Good();
        r.BinWidthNs = 500_000;

        RpcException ex = Reject(r, hosts);

        Assert.StartsWith("bin_width_ns: 500000 is out of range; allowed 1000000..100000000 ns (1ms..100ms, as the selected agents' GetInfo limits allow)", ex.Status.Detail);
    }
}
