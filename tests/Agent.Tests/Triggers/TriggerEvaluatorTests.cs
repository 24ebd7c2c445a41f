using Millisampler.Agent.Sampling;
using Millisampler.Agent.Triggers;

namespace Millisampler.Agent.Tests.Triggers;

/// <summary>The pure rule evaluator on hand-made series of 1 ms bins.</summary>
public sealed class TriggerEvaluatorTests
{
    private const long Ms = 1_000_000;
    private const ulong TenGbit = 10_000_000_000;

    /// <summary>10 Gbit/s for 1 ms.</summary>
    private const ulong LineBytesPerBin = 1_250_000;

    private static TriggerRuleOptions Rule(TriggerKind kind, uint bins = 3, TimeSpan? cooldown = null) => new()
    {
        Name = kind.ToString().ToLowerInvariant(),
        Kind = kind,
        Bins = bins,
        Cooldown = cooldown ?? TimeSpan.FromSeconds(10),
    };

    private static RingBin B(long bin, ulong inBytes, ulong outBytes = 0, ulong ce = 0, ulong inRetx = 0, ulong outRetx = 0) => new(bin, inBytes, outBytes, ce, inRetx, outRetx);

    private static List<TriggerFiring> Feed(TriggerEvaluator e, IEnumerable<RingBin> bins) => [.. bins.SelectMany(b => e.Add(b))];

    [Fact]
    public void IngressCongestion_NBinsAtThetaWithCe_FiresOnceWithItsBinsAndValues()
    {
        var e = new TriggerEvaluator([Rule(TriggerKind.IngressCongestion)], Ms, TenGbit);
        ulong high = LineBytesPerBin * 95 / 100;

        var fired = Feed(e, [B(100, high), B(101, high), B(102, high), B(103, high), B(104, high, ce: 3000), B(105, 10)]);

        var f = Assert.Single(fired);
        Assert.Equal(("ingresscongestion", 102L, 104L, 105 * Ms), (f.Rule, f.FirstBin, f.LastBin, f.InstantTaiNs));
        Assert.Equal(0.95, f.Values["ingress_utilization"], 3);
        Assert.Equal(3000, f.Values["ce_bytes"]);
    }

    [Fact]
    public void IngressCongestion_NoCeNoRetransmit_OrBelowTheta_NeverFires()
    {
        var e = new TriggerEvaluator([Rule(TriggerKind.IngressCongestion)], Ms, TenGbit);
        var busyClean = Enumerable.Range(0, 100).Select(i => B(i, LineBytesPerBin));
        var lowMarked = Enumerable.Range(100, 100).Select(i => B(i, LineBytesPerBin * 85 / 100, ce: 5000, inRetx: 100));

        Assert.Empty(Feed(e, busyClean.Concat(lowMarked)));
    }

    [Fact]
    public void IngressCongestion_LinkSpeedUnknown_InactiveWithReason()
    {
        var e = new TriggerEvaluator([Rule(TriggerKind.IngressCongestion), Rule(TriggerKind.IngressStall)], Ms, 0);

        var (rule, reason) = Assert.Single(e.Inactive);
        Assert.Equal("ingresscongestion", rule);
        Assert.Contains("Agent:LinkSpeedBitsPerSecond", reason, StringComparison.Ordinal);
        Assert.Equal(1, e.ActiveRules);
    }

    [Fact]
    public void RetransmitRate_AboveRateOverNBins_Fires_AtRateDoesNot()
    {
        var rule = Rule(TriggerKind.RetransmitRate, bins: 5);
        rule.RetransmitBytesPerSecond = 1_000_000; // 5,000 bytes over 5 ms
        var e = new TriggerEvaluator([rule], Ms, TenGbit);

        var atRate = Feed(e, Enumerable.Range(0, 10).Select(i => B(i, 50_000, inRetx: 600, outRetx: 400)));
        var above = Feed(e, Enumerable.Range(10, 5).Select(i => B(i, 50_000, inRetx: 1_000, outRetx: 200)));

        Assert.Empty(atRate);
        // The sliding window is over the rate as soon as its newest bin is: bins 6..10 hold 4 × 1,000 + 1,200 bytes.
        var f = Assert.Single(above);
        Assert.Equal((6L, 10L), (f.FirstBin, f.LastBin));
        Assert.Equal(1_040_000, f.Values["retransmit_bytes_per_second"], 6);
        Assert.Equal(5_200, f.Values["retransmit_bytes"]);
    }

    [Fact]
    public void IngressStall_ZeroIngressBetweenBusyBinsWithEgress_FiresOnTheStalledBins()
    {
        var e = new TriggerEvaluator([Rule(TriggerKind.IngressStall)], Ms, TenGbit);

        var fired = Feed(e, [B(10, 50_000, 2_000), B(11, 0, 3_000), B(12, 0, 3_000), B(13, 0, 3_000), B(14, 0, 3_000), B(15, 40_000, 2_000)]);

        var f = Assert.Single(fired);
        Assert.Equal((11L, 14L, 15 * Ms), (f.FirstBin, f.LastBin, f.InstantTaiNs));
        Assert.Equal(4, f.Values["stall_bins"]);
        Assert.Equal(12_000, f.Values["egress_bytes"]);
        Assert.Equal(50_000, f.Values["ingress_bytes_before"]);
        Assert.Equal(40_000, f.Values["ingress_bytes_after"]);
    }

    public static TheoryData<string, RingBin[]> NotStalls => new()
    {
        { "too short", [B(0, 50_000, 1), B(1, 0, 1), B(2, 0, 1), B(3, 50_000, 1)] },
        { "egress stopped too", [B(0, 50_000, 1), B(1, 0, 1), B(2, 0, 0), B(3, 0, 1), B(4, 0, 1), B(5, 50_000, 1)] },
        { "not after a busy bin", [B(0, 100, 1), B(1, 0, 1), B(2, 0, 1), B(3, 0, 1), B(4, 0, 1), B(5, 50_000, 1)] },
        { "not followed by a busy bin", [B(0, 50_000, 1), B(1, 0, 1), B(2, 0, 1), B(3, 0, 1), B(4, 0, 1), B(5, 100, 1)] },
        { "still going", [B(0, 50_000, 1), B(1, 0, 1), B(2, 0, 1), B(3, 0, 1), B(4, 0, 1)] },
        { "a gap in the bins read", [B(0, 50_000, 1), B(1, 0, 1), B(2, 0, 1), B(4, 0, 1), B(5, 50_000, 1)] },
    };

    [Theory]
    [MemberData(nameof(NotStalls))]
    public void IngressStall_ConditionIncomplete_DoesNotFire(string why, RingBin[] bins)
    {
        var e = new TriggerEvaluator([Rule(TriggerKind.IngressStall)], Ms, TenGbit);

        Assert.True(Feed(e, bins).Count == 0, why);
    }

    [Fact]
    public void Cooldown_HoldsOnTheBinGrid_ThenTheRuleFiresAgain()
    {
        var e = new TriggerEvaluator([Rule(TriggerKind.IngressStall, cooldown: TimeSpan.FromSeconds(1))], Ms, TenGbit);
        IEnumerable<RingBin> Stall(long at) => [B(at, 50_000, 1), B(at + 1, 0, 1), B(at + 2, 0, 1), B(at + 3, 0, 1), B(at + 4, 50_000, 1)];

        // A storm: a stall every 100 ms for 2.5 s; fires at 0 s, then first at or after 1 s and 2 s.
        var fired = Feed(e, Enumerable.Range(0, 25).SelectMany(i => Stall(1000 + (i * 100L))));

        Assert.Equal([1004 * Ms, 2004 * Ms, 3004 * Ms], fired.Select(f => f.InstantTaiNs));
    }

    /// <summary>Property: idle hosts (all zero) and steady hosts (ingress never zero) never fire a stall, whatever the egress.</summary>
    [Fact]
    public void IngressStall_IdleOrSteadyHosts_NeverFire()
    {
        for (int seed = 0; seed < 50; seed++)
        {
            var random = new Random(seed);
            var rule = Rule(TriggerKind.IngressStall, bins: (uint)random.Next(1, 20));
            var idle = new TriggerEvaluator([rule], Ms, TenGbit);
            var steady = new TriggerEvaluator([rule], Ms, TenGbit);
            for (long bin = 0; bin < 3000; bin++)
            {
                ulong egress = random.Next(3) == 0 ? 0 : (ulong)random.NextInt64(1, 2_000_000);
                Assert.Empty(idle.Add(B(bin, 0, egress)));
                Assert.Empty(steady.Add(B(bin, (ulong)random.NextInt64(1, 2_000_000), egress)));
            }
        }
    }

    /// <summary>Property: bursty ingress whose silent bins have no egress either (a host that simply goes quiet) never fires a stall.</summary>
    [Fact]
    public void IngressStall_QuietWithoutEgress_NeverFires()
    {
        for (int seed = 0; seed < 50; seed++)
        {
            var random = new Random(seed);
            var e = new TriggerEvaluator([Rule(TriggerKind.IngressStall, bins: 1)], Ms, TenGbit);
            for (long bin = 0; bin < 3000; bin++)
            {
                bool silent = random.Next(2) == 0;
                Assert.Empty(e.Add(silent ? B(bin, 0, 0) : B(bin, (ulong)random.NextInt64(1, 2_000_000), (ulong)random.NextInt64(0, 100_000))));
            }
        }
    }
}
