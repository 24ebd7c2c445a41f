using Millisampler.Contracts.V1;

namespace Millisampler.Analysis.Tests;

/// <summary>Incidents, ingress stalls and cross-region interplay on hand-made and seeded series.</summary>
public class RackInsightsTests
{
    private const long W = TestRacks.BinWidthNs;
    private const ulong Full = TestRacks.FullBin;

    public static TheoryData<int> Seeds()
    {
        var data = new TheoryData<int>();
        for (int seed = 1; seed <= 40; seed++)
        {
            data.Add(seed);
        }

        return data;
    }

    // ---- stalls ----

    private static HostSeries Traffic(string name, ulong[] ingress, ulong[]? egress, int? covered = null) =>
        new(name, TestRacks.LinkSpeed, 0, covered ?? ingress.Length, ingress, new ulong[ingress.Length],
            new ulong[ingress.Length], new uint[ingress.Length], egress);

    private static ulong[] Steady(Random rng, int bins, double minU = 0.2, double maxU = 0.9)
    {
        var v = new ulong[bins];
        for (int b = 0; b < bins; b++)
        {
            v[b] = (ulong)((minU + rng.NextDouble() * (maxU - minU)) * Full);
        }

        return v;
    }

    [Fact]
    public void FindStalls_ZeroRunInsideSteadyTraffic_IsFoundWithItsBinsAndEgress()
    {
        var rng = new Random(7);
        ulong[] ingress = Steady(rng, 100);
        ulong[] egress = Steady(rng, 100, 0.01, 0.1);
        for (int b = 40; b < 44; b++)
        {
            ingress[b] = 0;
        }

        IReadOnlyList<IngressStallInfo> stalls = RackInsightsAnalyzer.FindStalls(Traffic("h1", ingress, egress), W, 3, 0.05);

        IngressStallInfo s = Assert.Single(stalls);
        Assert.Equal(("h1", 40, 4), (s.Host, s.StartBin, s.LengthBins));
        Assert.Equal(egress[40] + egress[41] + egress[42] + egress[43], s.EgressBytes);
        double around = (ingress[37] + ingress[38] + ingress[39] + ingress[44] + ingress[45] + (double)ingress[46]) / 6;
        Assert.Equal(around, s.IngressBytesAround, 6);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void FindStalls_PlantedStallsInSteadyTraffic_AreExactlyTheOnesFound(int seed)
    {
        var rng = new Random(seed);
        int bins = 2000;
        ulong[] ingress = Steady(rng, bins, 0.06, 1.0);
        ulong[] egress = Steady(rng, bins, 0.001, 0.2);
        var planted = new List<(int Start, int Length)>();
        int b = rng.Next(3, 40);
        while (true)
        {
            int len = rng.Next(1, 12);
            if (b + len + 3 > bins)
            {
                break;
            }

            planted.Add((b, len));
            Array.Clear(ingress, b, len);
            b += len + 3 + rng.Next(0, 200);
        }

        var found = RackInsightsAnalyzer.FindStalls(Traffic("h", ingress, egress), W, 3, 0.05)
            .Select(s => (s.StartBin, s.LengthBins)).ToList();

        Assert.Equal(planted, found);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void FindStalls_IdleOrSteadyOrSparseHosts_ReportNone(int seed)
    {
        var rng = new Random(seed);
        int bins = 1000;
        ulong[] egress = Steady(rng, bins, 0.01, 0.5);

        // Idle: nothing received at all.
        Assert.Empty(RackInsightsAnalyzer.FindStalls(Traffic("idle", new ulong[bins], egress), W, 3, 0.05));

        // Steady: never a zero bin.
        Assert.Empty(RackInsightsAnalyzer.FindStalls(Traffic("steady", Steady(rng, bins, 0.0001, 1.0), egress), W, 3, 0.05));

        // Sparse: light traffic with random empty bins; never busy enough around a gap.
        ulong[] sparse = new ulong[bins];
        for (int i = 0; i < bins; i++)
        {
            sparse[i] = rng.NextDouble() < 0.5 ? 0 : (ulong)(rng.NextDouble() * 0.049 * Full);
        }

        Assert.Empty(RackInsightsAnalyzer.FindStalls(Traffic("sparse", sparse, egress), W, 3, 0.05));
    }

    [Fact]
    public void FindStalls_EgressStoppedToo_IsNoStall()
    {
        ulong[] ingress = Enumerable.Repeat(Full / 2, 30).ToArray();
        ulong[] egress = Enumerable.Repeat(Full / 10, 30).ToArray();
        for (int b = 10; b < 14; b++)
        {
            ingress[b] = 0;
            egress[b] = b == 10 ? 1UL : 0; // one of four bins sending: less than half
        }

        Assert.Empty(RackInsightsAnalyzer.FindStalls(Traffic("h", ingress, egress), W, 3, 0.05));
        egress[11] = 5; // two of four: half, so a stall
        Assert.Single(RackInsightsAnalyzer.FindStalls(Traffic("h", ingress, egress), W, 3, 0.05));
    }

    [Fact]
    public void FindStalls_AtTheEdgesOrInMissingBinsOrWithoutEgress_IsNoStall()
    {
        ulong[] ingress = Enumerable.Repeat(Full / 2, 30).ToArray();
        ulong[] egress = Enumerable.Repeat(Full / 10, 30).ToArray();
        ingress[0] = ingress[1] = 0; // at the start: no context before
        ingress[28] = 0; // one busy bin after, fewer than L
        Assert.Empty(RackInsightsAnalyzer.FindStalls(Traffic("h", ingress, egress), W, 3, 0.05));

        ulong[] cut = Enumerable.Repeat(Full / 2, 30).ToArray();
        cut[20] = 0;
        Assert.Empty(RackInsightsAnalyzer.FindStalls(Traffic("h", cut, egress, covered: 22), W, 3, 0.05));
        Assert.Single(RackInsightsAnalyzer.FindStalls(Traffic("h", cut, egress), W, 3, 0.05));
        Assert.Empty(RackInsightsAnalyzer.FindStalls(Traffic("h", cut, egress: null), W, 3, 0.05));
    }

    // ---- incidents ----

    private static SyncEventInfo Event(int start, int length, params string[] hosts) =>
        new(start, length, hosts, 10, 1, 2, 0, 0, hosts.Length);

    [Fact]
    public void GroupIncidents_EventsCloserThanGap_FormOneIncident()
    {
        SyncEventInfo[] events =
        [
            Event(10, 3, "a", "b"),      // ends 13
            Event(15, 2, "b", "c"),      // gap 2 < 5: same incident
            Event(21, 1, "a", "d"),      // gap 4 < 5: same
            Event(27, 4, "e", "f"),      // gap 5: not closer than g, new incident
        ];

        IReadOnlyList<IncidentInfo> incidents = RackInsightsAnalyzer.GroupIncidents(events, 5);

        Assert.Equal(2, incidents.Count);
        Assert.Equal((10, 12), (incidents[0].StartBin, incidents[0].LengthBins));
        Assert.Equal([0, 1, 2], incidents[0].EventIndices);
        Assert.Equal(["a", "b", "c", "d"], incidents[0].Hosts);
        Assert.Equal(30UL, incidents[0].Bytes);
        Assert.Equal((27, 4), (incidents[1].StartBin, incidents[1].LengthBins));
        Assert.Equal([3], incidents[1].EventIndices);
        Assert.Single(RackInsightsAnalyzer.GroupIncidents(events, 6));
        Assert.Equal(4, RackInsightsAnalyzer.GroupIncidents(events, 1).Count);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void GroupIncidents_RandomEvents_PartitionEventsAndSeparateIncidentsByAtLeastGap(int seed)
    {
        var rng = new Random(seed);
        var events = new List<SyncEventInfo>();
        int b = rng.Next(0, 10);
        for (int i = rng.Next(0, 60); i > 0; i--)
        {
            int len = rng.Next(1, 6);
            events.Add(Event(b, len, $"h{rng.Next(5)}", $"h{5 + rng.Next(5)}"));
            b += len + rng.Next(1, 15);
        }

        int gap = rng.Next(1, 10);
        IReadOnlyList<IncidentInfo> incidents = RackInsightsAnalyzer.GroupIncidents(events, gap);

        Assert.Equal(Enumerable.Range(0, events.Count), incidents.SelectMany(i => i.EventIndices));
        for (int i = 1; i < incidents.Count; i++)
        {
            Assert.True(incidents[i].StartBin - (incidents[i - 1].StartBin + incidents[i - 1].LengthBins) >= gap);
        }

        foreach (IncidentInfo inc in incidents)
        {
            for (int j = 1; j < inc.EventIndices.Count; j++)
            {
                SyncEventInfo prev = events[inc.EventIndices[j - 1]];
                Assert.True(events[inc.EventIndices[j]].StartBin - (prev.StartBin + prev.LengthBins) < gap);
            }
        }
    }

    [Fact]
    public void Analyze_IncastWithADipBelowK_IsTwoEventsButOneIncident()
    {
        // Three hosts burst together; host c dips for one bin, so c[b] drops to 2 < k = 3 there.
        HostSeries[] rack =
        [
            TestRacks.Host("a", "...XXXXXXX...................."),
            TestRacks.Host("b", "...XXXXXXX...................."),
            TestRacks.Host("c", "...XXX.XXX...................."),
            TestRacks.Host("d", "...........................XX."),
        ];
        RackAnalysis analysis = RackAnalyzer.Analyze(rack, W, new AnalysisOptions(0.5, 3));

        RackInsights insights = RackInsightsAnalyzer.Analyze(rack, analysis, new InsightOptions());

        Assert.Equal(2, analysis.Events.Count);
        Assert.Equal(5, insights.IncidentGapBins);
        IncidentInfo incident = Assert.Single(insights.Incidents);
        Assert.Equal((3, 7), (incident.StartBin, incident.LengthBins));
        Assert.Equal(["a", "b", "c"], incident.Hosts);
    }

    [Theory]
    [InlineData(5_000_000, 1_000_000, 5)]
    [InlineData(5_000_000, 100_000, 50)]
    [InlineData(5_000_000, 10_000_000, 1)]
    [InlineData(0, 1_000_000, 1)]
    [InlineData(5_500_000, 1_000_000, 6)]
    public void IncidentGapBins_RoundsUpAndIsAtLeastOne(long gapNs, long binWidthNs, int expected)
    {
        Assert.Equal(expected, new InsightOptions(IncidentGapNs: gapNs).IncidentGapBins(binWidthNs));
    }

    // ---- cross-region ----

    [Fact]
    public void Analyze_CrossRegionShare_PerBurstAndPerContentionLevel()
    {
        ulong[] Bytes(string p) => [.. p.Select(c => c == 'X' ? Full : 0UL)];
        HostSeries Host(string name, string pattern, double share, ulong ce) => new(name, TestRacks.LinkSpeed, 0, pattern.Length,
            Bytes(pattern), [.. pattern.Select(c => c == 'X' ? ce : 0UL)], new ulong[pattern.Length], new uint[pattern.Length],
            Bytes(pattern), [.. pattern.Select(c => c == 'X' ? (ulong)(Full * share) : 0UL)]);

        HostSeries[] rack =
        [
            Host("far", "XX.....XX.", 0.8, 5),    // long-RTT: a burst alone (level 0) and one meeting "near" (level 1)
            Host("near", ".......XX.", 0.1, 0),   // short-RTT, level 1, no CE
            TestRacks.Host("plain", "..XX......"), // no cross-region series: in neither class
        ];
        RackAnalysis analysis = RackAnalyzer.Analyze(rack, W, new AnalysisOptions());

        RackInsights insights = RackInsightsAnalyzer.Analyze(rack, analysis, new InsightOptions());

        var shareOf = analysis.Bursts.Select((b, i) => (b.Host, b.StartBin, insights.BurstCrossRegionShare[i])).ToList();
        Assert.Contains(("far", 0, (double?)0.8), shareOf);
        Assert.Contains(("near", 7, (double?)0.1), shareOf);
        Assert.Contains(("plain", 2, (double?)null), shareOf);
        CrossRegionLevelInfo level0 = insights.CrossRegionLevels[0];
        CrossRegionLevelInfo level1 = insights.CrossRegionLevels[1];
        Assert.Equal((1, 1, 0), (level0.LongRttBursts, level0.LongRttBurstsWithCe, level0.ShortRttBursts));
        Assert.Equal((1, 1, 1, 0), (level1.LongRttBursts, level1.LongRttBurstsWithCe, level1.ShortRttBursts, level1.ShortRttBurstsWithCe));
        Assert.Equal(0.45, level1.MeanCrossRegionShare, 9);

        CaptureAnalysis proto = analysis.ToProto(insights);
        Assert.Equal(0.8, proto.Bursts.Single(b => b.Host == "far" && b.StartBin == 0).CrossRegionShare, 9);
        Assert.False(proto.Bursts.Single(b => b.Host == "plain").HasCrossRegionShare);
        Assert.Equal(1u, proto.ContentionLevels[1].ShortRttBursts);
        Assert.Equal(5u, proto.IncidentGapBins);
    }

    [Fact]
    public void ToProto_CarriesIncidentsAndStalls()
    {
        ulong[] ingress = Enumerable.Repeat(Full / 2, 20).ToArray();
        ingress[10] = 0;
        HostSeries host = Traffic("s", ingress, Enumerable.Repeat(100UL, 20).ToArray());
        HostSeries[] rack = [host, TestRacks.Host("t", "XXXXXXXXXXXXXXXXXXXX")];
        RackAnalysis analysis = RackAnalyzer.Analyze(rack, W, new AnalysisOptions());

        CaptureAnalysis proto = analysis.ToProto(RackInsightsAnalyzer.Analyze(rack, analysis, new InsightOptions()));

        IngressStall stall = Assert.Single(proto.IngressStalls);
        Assert.Equal(("s", 10u, 1u, 100UL), (stall.Host, stall.StartBin, stall.LengthBins, stall.EgressBytes));
        Assert.Equal(proto.Events.Count > 0 ? 1 : 0, proto.Incidents.Count);
        Assert.All(proto.Incidents, i => Assert.Equal(Enumerable.Range(0, proto.Events.Count).Select(e => (uint)e), i.Events));
    }
}
