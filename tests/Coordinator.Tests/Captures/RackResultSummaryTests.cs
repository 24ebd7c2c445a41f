using Millisampler.Analysis;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Captures;

namespace Millisampler.Coordinator.Tests.Captures;

public sealed class RackResultSummaryTests
{
    [Fact]
    public void From_TwoHostsTwoBursts_ContentionSharesAndPeakIngressByHand()
    {
        // Bins: c = [0, 1, 2, 2, 0]. Bursting bins 1..3, mean (1+2+2)/3; contended bins 2 of 5.
        var analysis = new CaptureAnalysis();
        analysis.Contention.Add([0u, 1u, 2u, 2u, 0u]);
        analysis.Bursts.Add(new Burst { Host = "a", StartBin = 1, LengthBins = 3, CeBytes = 100, RetransmitBytes = 7 });
        analysis.Bursts.Add(new Burst { Host = "b", StartBin = 2, LengthBins = 2, CeBytes = 50, RetransmitBytes = 0 });
        analysis.Events.Add(new SyncEvent { StartBin = 2, LengthBins = 2 });
        // 1 ms bins, 1 Gbit/s per host: 125,000 bytes fill a host's link for one bin.
        var series = new List<HostSeries>
        {
            new("a", 1e9, 0, 5, [0, 125_000, 125_000, 125_000, 0], new ulong[5], new ulong[5], new uint[5]),
            new("b", 1e9, 0, 5, [0, 0, 125_000, 62_500, 0], new ulong[5], new ulong[5], new uint[5]),
        };

        var s = RackResultSummary.From(analysis, series, 1_000_000, 42);

        Assert.Equal(2, s.Bursts);
        Assert.Equal(2, s.MaxContention);
        Assert.Equal(5.0 / 3, s.MeanContention, 12);
        Assert.Equal(0.4, s.ContendedBinShare, 12);
        Assert.Equal(150ul, s.BurstCeBytes);
        Assert.Equal(7ul, s.BurstRetransmitBytes);
        Assert.Equal(1.0, s.PeakRackIngressFraction, 12);
        Assert.Equal(1, s.SyncEvents);
    }

    [Fact]
    public void Record_OlderResultAfterNewer_KeepsNewer()
    {
        var results = new RackResults();
        var newer = new RackResultSummary(1, 1, 1, 0, 0, 0, 0, 0, CompletedAtUnixNs: 200);
        var older = newer with { Bursts = 9, CompletedAtUnixNs = 100 };

        results.Record("r1", 1_000_000, newer);
        results.Record("r1", 1_000_000, older);

        Assert.Equal(1, Assert.Single(results.All()).Summary.Bursts);
    }
}
