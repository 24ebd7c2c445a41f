using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Sweeps;

namespace Millisampler.Coordinator.Tests.Sweeps;

public sealed class SweepSummarizerTests
{
    /// <summary>
    /// Two hosts at 8 Mbit/s (1,000 bytes per 1 ms bin at line rate), four 1 ms bins:
    /// h1 ingress 500, 1000, 1000, 0 bytes; h2 0, 1000, 500, 0. CE: h1 100 in bin 1. Retransmits: h2 50 in bin 1, h1 25 in bin 3.
    /// Analysis (given): contention 1, 2, 2, 0; bursts h1 bins 1-2 (peak 1.0), h2 bin 1 (peak 1.0, len 1), h2 bin 2 (peak 0.5);
    /// levels 1: 1 bin, 2: 2 bins; one sync event with retransmits, one without.
    /// </summary>
    private static (Capture, Run[]) HandMade()
    {
        var capture = new Capture
        {
            CaptureId = "c1",
            Rack = "r1",
            BinWidthNs = 1_000_000,
            Bins = 4,
            State = CaptureState.Analysed,
            Hosts =
            {
                new HostOutcome { Host = "h1", LinkSpeedBitsPerSecond = 8_000_000 },
                new HostOutcome { Host = "h2", LinkSpeedBitsPerSecond = 8_000_000 },
                new HostOutcome { Host = "h3", LinkSpeedBitsPerSecond = 0 },
            },
            Analysis = new CaptureAnalysis
            {
                Contention = { 1, 2, 2, 0 },
                Bursts =
                {
                    new Burst { Host = "h1", StartBin = 1, LengthBins = 2, PeakUtilization = 1.0 },
                    new Burst { Host = "h2", StartBin = 1, LengthBins = 1, PeakUtilization = 1.0 },
                    new Burst { Host = "h2", StartBin = 2, LengthBins = 5, PeakUtilization = 0.65 },
                },
                ContentionLevels =
                {
                    new ContentionLevel { Level = 2, Bins = 2, CeFraction = 0.5, RetransmitFraction = 0.25 },
                    new ContentionLevel { Level = 1, Bins = 1, CeFraction = 0, RetransmitFraction = 0 },
                },
                Events = { new SyncEvent { RetransmitBytes = 50 }, new SyncEvent { RetransmitBytes = 0 } },
            },
        };
        Run[] runs =
        [
            new Run { Host = "h1", Series = new RunSeries { IngressBytes = { 500, 1000, 1000, 0 }, IngressCeBytes = { 0, 100, 0, 0 }, IngressRetransmitBytes = { 0, 0, 0, 25 } } },
            new Run { Host = "h2", Series = new RunSeries { IngressBytes = { 0, 1000, 500, 0 }, IngressRetransmitBytes = { 0, 50, 0, 0 } } },
            // No link speed: not analysed, not counted.
            new Run { Host = "h3", Series = new RunSeries { IngressBytes = { 9999, 9999, 9999, 9999 } } },
        ];
        return (capture, runs);
    }

    [Fact]
    public void Summarize_HandMadeCapture_ExactValues()
    {
        (Capture capture, Run[] runs) = HandMade();

        SweepSummary s = SweepSummarizer.Summarize(capture, runs, "nightly", 1_700_000_000_000_000_000);

        Assert.Equal("c1", s.CaptureId);
        Assert.Equal("nightly", s.Sweep);
        Assert.Equal(1_700_000_000_000_000_000, s.StartUnixNs);
        Assert.Equal(2u, s.Hosts);
        Assert.Equal(0.008, s.HostSeconds, 12);
        Assert.Equal(3u, s.Bursts);
        Assert.Equal(375, s.BurstsPerHostSecond, 9);
        // Lengths 2, 1, 5 → buckets [1], [2,3], [4,7].
        Assert.Equal([1u, 1u, 1u, 0u, 0u, 0u], s.BurstLengthHistogram);
        // Peaks 1.0, 1.0, 0.65 → [0.6,0.7) once, [1.0,∞) twice.
        Assert.Equal([0u, 1u, 0u, 0u, 0u, 2u], s.BurstPeakHistogram);
        Assert.Equal(8.0 / 3, s.MeanBurstLengthBins, 12);
        Assert.Equal(5u, s.MaxBurstLengthBins);
        Assert.Equal([(1u, 0.25, 0.0, 0.0), (2u, 0.5, 0.5, 0.25)], s.Contention.Select(c => (c.Level, c.BinShare, c.CeFraction, c.RetransmitFraction)));
        Assert.Equal(1.25, s.MeanContention);
        Assert.Equal(0.5, s.ContendedBinShare);
        // Bins 1 and 2 are contended; only bin 1 has retransmits (bin 3's are uncontended).
        Assert.Equal(0.25, s.LossyContendedBinShare);
        // Ingress 4,000 bytes; CE 100; retransmits 75.
        Assert.Equal(0.025, s.CeFraction, 12);
        Assert.Equal(0.01875, s.RetransmitFraction, 12);
        // Bin 1: 2,000 bytes over 1 ms = 16 Mbit/s against 16 Mbit/s of links.
        Assert.Equal(1.0, s.MaxRackIngressFraction, 12);
        Assert.Equal(2u, s.SyncEvents);
        Assert.Equal(1u, s.SyncEventsWithLoss);
    }

    [Fact]
    public void Summarize_NoBurstsNoTraffic_ZerosNotNaN()
    {
        var capture = new Capture
        {
            CaptureId = "c0",
            Rack = "r1",
            BinWidthNs = 10_000_000,
            Bins = 2,
            Hosts = { new HostOutcome { Host = "h1", LinkSpeedBitsPerSecond = 1_000_000_000 } },
            Analysis = new CaptureAnalysis { Contention = { 0, 0 } },
        };

        SweepSummary s = SweepSummarizer.Summarize(capture, [new Run { Host = "h1", Series = new RunSeries { IngressBytes = { 0, 0 } } }], "s", 1);

        Assert.Equal(0, s.BurstsPerHostSecond);
        Assert.Equal(0, s.CeFraction);
        Assert.Equal(0, s.RetransmitFraction);
        Assert.Equal(0, s.MaxRackIngressFraction);
        Assert.Equal(0, s.MeanBurstLengthBins);
        Assert.Equal(0.02, s.HostSeconds, 12);
    }
}
