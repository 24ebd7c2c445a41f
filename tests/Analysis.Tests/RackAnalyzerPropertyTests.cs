namespace Millisampler.Analysis.Tests;

/// <summary>Properties over seeded random racks; each seed is a reproducible case.</summary>
public class RackAnalyzerPropertyTests
{
    private const int Cases = 40;
    private static readonly AnalysisOptions Defaults = new();

    public static TheoryData<int> Seeds()
    {
        var data = new TheoryData<int>();
        for (int seed = 1; seed <= Cases; seed++)
        {
            data.Add(seed);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Analyze_HostsInAnyOrder_GiveTheSameAnalysis(int seed)
    {
        var rng = new Random(seed);
        HostSeries[] rack = TestRacks.Random(rng, hosts: rng.Next(1, 20), bins: 300, partial: true);
        HostSeries[] shuffled = [.. rack];
        rng.Shuffle(shuffled);

        RackAnalysis a = RackAnalyzer.Analyze(rack, TestRacks.BinWidthNs, Defaults);
        RackAnalysis b = RackAnalyzer.Analyze(shuffled, TestRacks.BinWidthNs, Defaults);

        AssertSameAnalysis(a, b);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Analyze_EveryHostShiftedBySameBins_ShiftsEveryEventAndBurstBySameBins(int seed)
    {
        var rng = new Random(seed);
        const int Bins = 300;
        int shift = rng.Next(1, 50);
        HostSeries[] rack = TestRacks.Random(rng, hosts: rng.Next(2, 20), bins: Bins);
        HostSeries[] original = rack.Select(h => Shift(h, 0, Bins + shift)).ToArray();
        HostSeries[] shifted = rack.Select(h => Shift(h, shift, Bins + shift)).ToArray();

        RackAnalysis a = RackAnalyzer.Analyze(original, TestRacks.BinWidthNs, Defaults);
        RackAnalysis b = RackAnalyzer.Analyze(shifted, TestRacks.BinWidthNs, Defaults);

        Assert.NotEmpty(a.Events);
        Assert.Equal(a.Events.Select(e => (e.StartBin + shift, e.LengthBins, string.Join(",", e.Hosts), e.Bytes)),
            b.Events.Select(e => (e.StartBin, e.LengthBins, string.Join(",", e.Hosts), e.Bytes)));
        Assert.Equal(a.Bursts.Select(x => x with { StartBin = x.StartBin + shift }), b.Bursts);
        Assert.Equal(a.Contention.Take(Bins), b.Contention.Skip(shift));
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Analyze_SingleHost_NeverMakesAnEvent(int seed)
    {
        var rng = new Random(seed);
        HostSeries[] rack = TestRacks.Random(rng, hosts: 1, bins: 500);

        RackAnalysis r = RackAnalyzer.Analyze(rack, TestRacks.BinWidthNs, new AnalysisOptions(
            BurstThreshold: 0.1 + rng.NextDouble() * 0.9, EventMinHosts: rng.Next(2, 5)));

        Assert.NotEmpty(r.Bursts);
        Assert.Empty(r.Events);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Analyze_MissingBins_NeverMakeBurstsAndTheirContentDoesNotMatter(int seed)
    {
        var rng = new Random(seed);
        HostSeries[] rack = TestRacks.Random(rng, hosts: rng.Next(2, 20), bins: 300, partial: true);
        HostSeries[] zeroed = rack.Select(ZeroMissing).ToArray();

        RackAnalysis a = RackAnalyzer.Analyze(rack, TestRacks.BinWidthNs, Defaults);
        RackAnalysis b = RackAnalyzer.Analyze(zeroed, TestRacks.BinWidthNs, Defaults);

        var covered = rack.ToDictionary(h => h.Host, h => h.BinsCovered);
        Assert.All(a.Bursts, x => Assert.True(x.StartBin + x.LengthBins <= covered[x.Host]));
        AssertSameAnalysis(a, b);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Analyze_RandomRack_MatchesNaiveBinByBinDefinition(int seed)
    {
        var rng = new Random(seed);
        HostSeries[] rack = TestRacks.Random(rng, hosts: rng.Next(1, 30), bins: 400, partial: true);
        var options = new AnalysisOptions(0.3 + rng.NextDouble() * 0.7, rng.Next(2, 6));

        RackAnalysis r = RackAnalyzer.Analyze(rack, TestRacks.BinWidthNs, options);

        AssertMatchesNaive(rack, options, r);
        Assert.Equal(r.Bursts.Count, r.ContentionLevels.Sum(l => l.Bursts));
        Assert.Equal(rack.Max(h => (int?)h.BinsCovered) ?? 0, r.ContentionLevels.Sum(l => l.Bins));
    }

    /// <summary>
    /// The analysis against the naive bin-by-bin definition: contention, bursts, events, and the sums (a burst's bytes, CE
    /// and retransmits over its bins; an event's over its members' covered bins; the rack's peak ingress over the event's bins).
    /// </summary>
    private static void AssertMatchesNaive(HostSeries[] rack, AnalysisOptions options, RackAnalysis r)
    {
        Naive expected = Naive.Analyze(rack, TestRacks.BinWidthNs, options);
        Assert.Equal(expected.Contention, r.Contention);
        Assert.Equal(expected.Bursts, r.Bursts.Select(b => (b.Host, b.StartBin, b.LengthBins, b.MaxContention)));
        Assert.Equal(expected.Events, r.Events.Select(e => (e.StartBin, e.LengthBins, string.Join(",", e.Hosts))));
        Assert.Equal(expected.BurstSums, r.Bursts.Select(b => (b.Bytes, b.CeBytes, b.RetransmitBytes)));
        Assert.Equal(expected.EventSums, r.Events.Select(e => (e.Bytes, e.CeBytes, e.RetransmitBytes, e.PeakRackIngressBitsPerSecond)));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void Analyze_RackLargeEnoughToSplit_MatchesNaiveBinByBinDefinition(int seed)
    {
        // Over two million host-bins, so the scan splits (3 uneven parts on any machine), and each part places its own
        // bursts, counts its levels and marks its hosts' events.
        var rng = new Random(seed);
        HostSeries[] rack = TestRacks.Random(rng, hosts: 110, bins: 20_000, partial: true);
        var options = new AnalysisOptions(0.3 + rng.NextDouble() * 0.7, rng.Next(2, 6), MaxParallelism: 3);

        RackAnalysis r = RackAnalyzer.Analyze(rack, TestRacks.BinWidthNs, options);

        Assert.NotEmpty(r.Events);
        AssertMatchesNaive(rack, options, r);
        Assert.Equal(r.Bursts.Count, r.ContentionLevels.Sum(l => l.Bursts));
        Assert.Equal(r.Bursts.Count(b => b.CeBytes > 0), r.ContentionLevels.Sum(l => l.BurstsWithCe));
    }

    internal static void AssertSameAnalysis(RackAnalysis a, RackAnalysis b)
    {
        Assert.Equal(a.Bins, b.Bins);
        Assert.Equal(a.Contention, b.Contention);
        Assert.Equal(a.Bursts, b.Bursts);
        Assert.Equal(a.ContentionLevels, b.ContentionLevels);
        Assert.Equal(a.Events.Count, b.Events.Count);
        for (int i = 0; i < a.Events.Count; i++)
        {
            Assert.Equal(a.Events[i] with { Hosts = [] }, b.Events[i] with { Hosts = [] });
            Assert.Equal(a.Events[i].Hosts, b.Events[i].Hosts);
        }

        Assert.Equal(a.UntrustedAlignmentHosts, b.UntrustedAlignmentHosts);
    }

    private static HostSeries Shift(HostSeries h, int shift, int bins)
    {
        static T[] Move<T>(T[] source, int shift, int bins)
        {
            var moved = new T[bins];
            Array.Copy(source, 0, moved, shift, source.Length);
            return moved;
        }

        return h with
        {
            BinsCovered = bins,
            IngressBytes = Move(h.IngressBytes, shift, bins),
            IngressCeBytes = Move(h.IngressCeBytes, shift, bins),
            IngressRetransmitBytes = Move(h.IngressRetransmitBytes, shift, bins),
            IngressConnections = Move(h.IngressConnections, shift, bins),
        };
    }

    private static HostSeries ZeroMissing(HostSeries h)
    {
        static T[] Cut<T>(T[] source, int covered)
        {
            var cut = new T[source.Length];
            Array.Copy(source, cut, covered);
            return cut;
        }

        return h with
        {
            IngressBytes = Cut(h.IngressBytes, h.BinsCovered),
            IngressCeBytes = Cut(h.IngressCeBytes, h.BinsCovered),
            IngressRetransmitBytes = Cut(h.IngressRetransmitBytes, h.BinsCovered),
            IngressConnections = Cut(h.IngressConnections, h.BinsCovered),
        };
    }

    /// <summary>The definitions of docs/analysis.md written the slow, obvious way: a bin-by-bin burst mask.</summary>
    private sealed record Naive(
        int[] Contention,
        List<(string Host, int Start, int Length, int MaxContention)> Bursts,
        List<(int Start, int Length, string Hosts)> Events,
        List<(ulong Bytes, ulong Ce, ulong Retransmit)> BurstSums,
        List<(ulong Bytes, ulong Ce, ulong Retransmit, double PeakRackBitsPerSecond)> EventSums)
    {
        public static Naive Analyze(HostSeries[] rack, long binWidthNs, AnalysisOptions o)
        {
            int bins = rack[0].IngressBytes.Length;
            HostSeries[] hosts = rack.OrderBy(h => h.Host, StringComparer.Ordinal).ToArray();
            bool[][] mask = hosts.Select(h => Enumerable.Range(0, bins)
                .Select(b => b < h.BinsCovered && 8.0 * h.IngressBytes[b] / (h.LinkSpeedBitsPerSecond * binWidthNs / 1e9) >= o.BurstThreshold)
                .ToArray()).ToArray();
            int[] c = Enumerable.Range(0, bins).Select(b => mask.Count(m => m[b])).ToArray();

            var bursts = new List<(string, int, int, int)>();
            for (int h = 0; h < hosts.Length; h++)
            {
                foreach (var (s, l) in Runs(mask[h]))
                {
                    bursts.Add((hosts[h].Host, s, l, Enumerable.Range(s, l).Max(b => c[b] - 1)));
                }
            }

            var events = Runs(c.Select(x => x >= o.EventMinHosts).ToArray())
                .Select(e => (e.Start, e.Length, string.Join(",", Enumerable.Range(0, hosts.Length)
                    .Where(h => Enumerable.Range(e.Start, e.Length).Any(b => mask[h][b]))
                    .Select(h => hosts[h].Host))))
                .ToList();
            var byName = hosts.ToDictionary(h => h.Host, StringComparer.Ordinal);
            var orderedBursts = bursts.OrderBy(b => b.Item2).ThenBy(b => b.Item1, StringComparer.Ordinal).ToList();
            var burstSums = orderedBursts.Select(b =>
            {
                HostSeries h = byName[b.Item1];
                var range = Enumerable.Range(b.Item2, b.Item3).ToList();
                return (Sum(range.Select(x => h.IngressBytes[x])), Sum(range.Select(x => h.IngressCeBytes[x])),
                    Sum(range.Select(x => h.IngressRetransmitBytes[x])));
            }).ToList();
            var eventSums = events.Select(e =>
            {
                var members = e.Item3.Split(',').Select(n => byName[n]).ToList();
                var range = Enumerable.Range(e.Start, e.Length).ToList();
                ulong Over(Func<HostSeries, ulong[]> series) =>
                    Sum(members.SelectMany(h => range.Where(x => x < h.BinsCovered).Select(x => series(h)[x])));
                ulong peak = range.Max(x => Sum(hosts.Where(h => x < h.BinsCovered).Select(h => h.IngressBytes[x])));
                return (Over(h => h.IngressBytes), Over(h => h.IngressCeBytes), Over(h => h.IngressRetransmitBytes), peak * 8e9 / binWidthNs);
            }).ToList();
            return new Naive(c, orderedBursts, events, burstSums, eventSums);
        }

        private static ulong Sum(IEnumerable<ulong> values)
        {
            ulong total = 0;
            foreach (ulong v in values)
            {
                total += v;
            }

            return total;
        }

        private static List<(int Start, int Length)> Runs(bool[] on)
        {
            var runs = new List<(int, int)>();
            for (int b = 0; b < on.Length; b++)
            {
                if (on[b] && (b == 0 || !on[b - 1]))
                {
                    int e = b;
                    while (e < on.Length && on[e])
                    {
                        e++;
                    }

                    runs.Add((b, e - b));
                }
            }

            return runs;
        }
    }
}
