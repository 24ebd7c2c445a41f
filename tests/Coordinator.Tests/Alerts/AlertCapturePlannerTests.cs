using Millisampler.Common.Time;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Alerts;
using Millisampler.Coordinator.Membership;

namespace Millisampler.Coordinator.Tests.Alerts;

/// <summary>Alert labels → rack; the look-back window around startsAt, trimmed to what the rings will still hold.</summary>
public sealed class AlertCapturePlannerTests
{
    private const long Ms = 1_000_000;
    private const long S = 1_000_000_000;

    private static readonly Dictionary<string, string> HostRacks = new(StringComparer.Ordinal) { ["h01"] = "r1", ["10.0.0.7"] = "r2", ["2001:db8::1"] = "r2" };

    private static AlertmanagerAlert Alert(params (string Key, string Value)[] labels) =>
        new(3, "firing", labels.ToDictionary(l => l.Key, l => l.Value), new Dictionary<string, string>(), 1, 0, "", "");

    private static AlertTarget Locate(AlertmanagerAlert alert, AlertOptions? options = null) =>
        AlertCapturePlanner.Locate(alert, options ?? new AlertOptions(), h => HostRacks.GetValueOrDefault(h), ["r1", "r2"]);

    private static HostState Host(string name, AgentLimits? limits) =>
        new(name, "r1", name + ":7000", [], new ClockState(), "1", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, null, limits);

    private static AgentLimits Rings(params RingInfo[] rings) => new(2000, 100_000, S, 60 * S, rings);

    [Fact]
    public void RackLabel_Wins()
    {
        Assert.Equal(new AlertTarget("r2", ""), Locate(Alert(("rack", "r2"), ("host", "h01"))));
    }

    [Fact]
    public void HostLabel_RackFromRegistry()
    {
        Assert.Equal(new AlertTarget("r1", "h01"), Locate(Alert(("host", "h01"))));
        Assert.Equal(new AlertTarget("r1", "h01"), Locate(Alert(("node", "h01")), new AlertOptions { HostLabel = "node" }));
    }

    [Theory]
    [InlineData("10.0.0.7:9100", "10.0.0.7")]
    [InlineData("[2001:db8::1]:9100", "2001:db8::1")]
    [InlineData("h01", "h01")]
    [InlineData("2001:db8::1", "2001:db8::1")]
    public void Instance_PortStripped_OnlyWhenConfigured(string instance, string host)
    {
        Assert.Equal(host, AlertCapturePlanner.StripPort(instance));
        AlertmanagerAlert alert = Alert(("instance", instance));
        Assert.Equal(HostRacks[host], Locate(alert, new AlertOptions { HostFromInstance = true }).Rack);
        var ex = Assert.Throws<AlertPayloadException>(() => Locate(alert));
        Assert.StartsWith("alerts[3].labels: the alert has no 'rack' or 'host' label", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownRackOrHost_NamesTheLabel()
    {
        Assert.Equal("alerts[3].labels.rack: rack 'r9' has no registered hosts (known racks: r1, r2)",
            Assert.Throws<AlertPayloadException>(() => Locate(Alert(("rack", "r9")))).Message);
        Assert.Equal("alerts[3].labels.host: host 'h99' is not registered with this coordinator (known racks: r1, r2)",
            Assert.Throws<AlertPayloadException>(() => Locate(Alert(("host", "h99")))).Message);
        Assert.StartsWith("alerts[3].labels.instance: host 'h99'",
            Assert.Throws<AlertPayloadException>(() => Locate(Alert(("instance", "h99:80")), new AlertOptions { HostFromInstance = true })).Message,
            StringComparison.Ordinal);
    }

    [Fact]
    public void Values_NumericAnnotationsOnly()
    {
        var alert = new AlertmanagerAlert(0, "firing", new Dictionary<string, string>(),
            new Dictionary<string, string> { ["value"] = "0.031", ["summary"] = "high", ["count"] = " 12 ", ["nan"] = "NaN", ["big"] = "1e3" }, 1, 0, "", "");

        IReadOnlyDictionary<string, double> values = AlertCapturePlanner.Values(alert);

        Assert.Equal(new Dictionary<string, double> { ["value"] = 0.031, ["count"] = 12, ["big"] = 1000 }, values);
    }

    [Fact]
    public void Forward_FromOptions_NeverQueued()
    {
        StartCaptureRequest r = AlertCapturePlanner.Forward("r1", new AlertOptions { ForwardBinWidth = TimeSpan.FromMilliseconds(10), ForwardBins = 500 });

        Assert.Equal(new StartCaptureRequest { Rack = "r1", BinWidthNs = 10 * Ms, Bins = 500, WaitIfBusy = false }, r);
    }

    [Fact]
    public void Lookback_RingHoldsStart_FullWindowAtRingWidth()
    {
        long now = 1_000_000 * S;
        long startsAt = now - (500 * Ms);
        HostState[] hosts = [Host("h01", Rings(new RingInfo(Ms, 4000))), Host("h02", null)];

        LookbackPlan plan = AlertCapturePlanner.Lookback("r1", startsAt, now, hosts, new AlertOptions(), readMarginNs: 100 * Ms);

        Assert.Equal("", plan.Note);
        Assert.Equal(Ms, plan.Request!.BinWidthNs);
        Assert.Equal(new AroundWindow { InstantTaiNs = startsAt, BeforeNs = S, AfterNs = S }, plan.Request.Around);
        Assert.Equal("r1", plan.Request.Rack);
    }

    [Fact]
    public void Lookback_StartNearTheRingsEnd_BeforeTrimmed()
    {
        // Read at max(now, startsAt + 1 s) + 100 ms margin + 100 ms slack = now + 200 ms; the 4,000-bin ring then holds
        // bins from now − 3.8 s (+1 bin). startsAt = now − 3.5 s leaves 299 ms before it.
        long now = 1_000_000 * S;
        long startsAt = now - (3_500 * Ms);

        LookbackPlan plan = AlertCapturePlanner.Lookback("r1", startsAt, now, [Host("h01", Rings(new RingInfo(Ms, 4000)))], new AlertOptions(), 100 * Ms);

        Assert.Equal(299 * Ms, plan.Request!.Around.BeforeNs);
        Assert.Equal(S, plan.Request.Around.AfterNs);
        Assert.StartsWith("window trimmed to 299ms before startsAt", plan.Note, StringComparison.Ordinal);
    }

    [Fact]
    public void Lookback_StartOverwritten_NotSubmitted()
    {
        long now = 1_000_000 * S;

        LookbackPlan plan = AlertCapturePlanner.Lookback("r1", now - (30 * S), now, [Host("h01", Rings(new RingInfo(Ms, 4000)))], new AlertOptions(), 100 * Ms);

        Assert.Null(plan.Request);
        Assert.Equal("the rings no longer hold the alert's start: startsAt was 30s ago and the deepest ring holds 4s of 1ms bins", plan.Note);
    }

    [Fact]
    public void Lookback_DeepestHostDecides_FinestCommonWidth()
    {
        long now = 1_000_000 * S;
        HostState[] hosts =
        [
            Host("h01", Rings(new RingInfo(Ms, 4000), new RingInfo(10 * Ms, 6000))),
            Host("h02", Rings(new RingInfo(10 * Ms, 3000))),
        ];

        LookbackPlan plan = AlertCapturePlanner.Lookback("r1", now - (30 * S), now, hosts, new AlertOptions(), 100 * Ms);

        Assert.Equal(10 * Ms, plan.Request!.BinWidthNs);
        Assert.Equal(S, plan.Request.Around.BeforeNs);
    }

    [Fact]
    public void Lookback_RecordersOffOrDisabled_NotSubmitted()
    {
        long now = 1_000_000 * S;
        Assert.Equal("the rack's look-back recorders are off",
            AlertCapturePlanner.Lookback("r1", now, now, [Host("h01", Rings())], new AlertOptions(), 0).Note);
        Assert.Equal("look-back is off (Coordinator:Alerts:Lookback)",
            AlertCapturePlanner.Lookback("r1", now, now, [Host("h01", Rings(new RingInfo(Ms, 4000)))], new AlertOptions { Lookback = false }, 0).Note);
    }

    [Fact]
    public void Lookback_RingsNotStatedYet_AgentsAnswer()
    {
        long now = 1_000_000 * S;

        LookbackPlan plan = AlertCapturePlanner.Lookback("r1", now - (30 * S), now, [Host("h01", null)], new AlertOptions(), 0);

        Assert.Equal(0, plan.Request!.BinWidthNs);
        Assert.Equal(S, plan.Request.Around.BeforeNs);
    }
}
