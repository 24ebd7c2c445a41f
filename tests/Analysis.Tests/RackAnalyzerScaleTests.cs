namespace Millisampler.Analysis.Tests;

/// <summary>
/// The scan's shortcuts change nothing: hosts split over threads, bins taken in chunks, and the integer cut that
/// skips the exact utilization for bins clearly below θ.
/// </summary>
public class RackAnalyzerScaleTests
{
    public static TheoryData<int> Seeds() => [1, 2, 3, 4, 5, 6];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Analyze_OneThreadOrSeveral_GiveTheSameAnalysis(int seed)
    {
        var rng = new Random(seed);

        // Over two million host-bins, so the scan does split; 3 parts on any machine, so the split is uneven.
        HostSeries[] rack = TestRacks.Random(rng, hosts: rng.Next(110, 140), bins: 20_000, partial: true);
        var options = new AnalysisOptions(0.3 + (rng.NextDouble() * 0.7), rng.Next(2, 5));

        RackAnalysis one = RackAnalyzer.Analyze(rack, TestRacks.BinWidthNs, options with { MaxParallelism = 1 });
        RackAnalysis three = RackAnalyzer.Analyze(rack, TestRacks.BinWidthNs, options with { MaxParallelism = 3 });

        Assert.NotEmpty(one.Events);
        RackAnalyzerPropertyTests.AssertSameAnalysis(one, three);
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Analyze_BinsInBursts_AreExactlyTheBinsAtOrAboveThetaByTheDefinition(int seed)
    {
        var rng = new Random(seed);
        const int Bins = 5_000;
        const long W = TestRacks.BinWidthNs;
        double theta = 0.05 + (rng.NextDouble() * 0.95);
        double linkSpeed = 1e9 + rng.Next(0, 1_000_000_007);
        double boundary = theta * (linkSpeed * W / 1e9) / 8;
        var bytes = new ulong[Bins];
        for (int b = 0; b < Bins; b++)
        {
            // Most bins within a few bytes of the boundary, either side, where rounding would show.
            bytes[b] = (ulong)Math.Max(0, Math.Round(boundary) + rng.Next(-3, 4));
        }

        var host = new HostSeries("h", linkSpeed, 0, Bins, bytes, new ulong[Bins], new ulong[Bins], new uint[Bins]);
        RackAnalysis r = RackAnalyzer.Analyze([host], W, new AnalysisOptions(theta));

        var inBurst = new bool[Bins];
        foreach (BurstInfo burst in r.Bursts)
        {
            for (int b = burst.StartBin; b < burst.StartBin + burst.LengthBins; b++)
            {
                inBurst[b] = true;
            }
        }

        // The definition, written out (docs/analysis.md): u = 8·bytes / (C·w), a bin is in a burst when u ≥ θ.
        double capacityBits = linkSpeed * W / 1e9;
        bool[] expected = [.. bytes.Select(v => 8.0 * v / capacityBits >= theta)];
        Assert.Contains(true, expected);
        Assert.Contains(false, expected);
        Assert.Equal(expected, inBurst);
    }

    [Fact]
    public void Analyze_BurstAcrossTheScansChunkEdge_IsOneBurstWithAllItsBytes()
    {
        const int Bins = 12_000;
        var rack = new HostSeries[64];
        for (int h = 0; h < rack.Length; h++)
        {
            // Hosts 0 and 1 burst over bins 4090..4105 and 8190..8193; everyone else is idle.
            string pattern = new('.', Bins);
            if (h < 2)
            {
                char[] p = pattern.ToCharArray();
                Array.Fill(p, 'X', 4090, 16);
                Array.Fill(p, 'X', 8190, 4);
                pattern = new string(p);
            }

            rack[h] = TestRacks.Host($"h{h:D2}", pattern);
        }

        RackAnalysis r = RackAnalyzer.Analyze(rack, TestRacks.BinWidthNs, new AnalysisOptions(MaxParallelism: 2));

        Assert.Equal([("h00", 4090, 16), ("h01", 4090, 16), ("h00", 8190, 4), ("h01", 8190, 4)],
            r.Bursts.Select(b => (b.Host, b.StartBin, b.LengthBins)));
        Assert.Equal(rack[0].IngressBytes.Skip(4090).Take(16).Aggregate(0UL, (s, v) => s + v), r.Bursts[0].Bytes);
        SyncEventInfo e = Assert.Single(r.Events, e => e.StartBin == 4090);
        Assert.Equal(16, e.LengthBins);
        Assert.Equal(["h00", "h01"], e.Hosts);
    }
}
