using Millisampler.Contracts.V1;

namespace Millisampler.Cli.Tests.Infrastructure;

/// <summary>Hand-built coordinator messages with known contents.</summary>
public static class TestCaptures
{
    /// <summary>
    /// Rack r1, 2000 bins of 1 ms, 4 hosts asked: h1 collected, h2 partial, h3 collected with a clock error over
    /// half a bin, h4 failed. 12 bursts (h1's at bin 100 is the largest, 9 MB; h2's at bin 1900 the smallest, 1 kB),
    /// contention levels 0..2, one event at bins 12..14 on h1,h2,h3.
    /// </summary>
    public static Capture Analysed(string id = "c1")
    {
        var c = new Capture
        {
            CaptureId = id,
            Rack = "r1",
            State = CaptureState.Analysed,
            StartTaiNs = 1_763_823_637_500_000_000,
            BinWidthNs = 1_000_000,
            Bins = 2000,
            RequestedAtUnixNs = 1_763_823_600_000_000_000,
            CompletedAtUnixNs = 1_763_823_604_000_000_000,
            HostsCovered = 3,
            HostsRequested = 4,
        };
        c.Hosts.Add(new HostOutcome { Host = "h1", Outcome = HostOutcomeKind.HostOutcomeCollected, BinsCovered = 2000, ClockErrorNs = 12_000, AlignmentTrusted = true, LinkSpeedBitsPerSecond = 25_000_000_000 });
        c.Hosts.Add(new HostOutcome { Host = "h2", Outcome = HostOutcomeKind.HostOutcomePartial, Reason = "agent stopped", BinsCovered = 1500, ClockErrorNs = 12_000, AlignmentTrusted = true, LinkSpeedBitsPerSecond = 25_000_000_000 });
        c.Hosts.Add(new HostOutcome { Host = "h3", Outcome = HostOutcomeKind.HostOutcomeCollected, BinsCovered = 2000, ClockErrorNs = 800_000, AlignmentTrusted = false, LinkSpeedBitsPerSecond = 25_000_000_000 });
        c.Hosts.Add(new HostOutcome { Host = "h4", Outcome = HostOutcomeKind.HostOutcomeFailed, Reason = "deadline exceeded" });

        var a = new CaptureAnalysis { BurstThreshold = 0.5, EventMinHosts = 2 };
        a.Bursts.Add(new Burst { Host = "h1", StartBin = 100, LengthBins = 3, Bytes = 9_000_000, PeakUtilization = 0.98, CeBytes = 1_200, PeakConnections = 48, MaxContention = 2, MeanContention = 1.33 });
        for (uint i = 0; i < 10; i++)
        {
            a.Bursts.Add(new Burst { Host = "h3", StartBin = 200 + i * 10, LengthBins = 1, Bytes = 2_000_000 + i, PeakUtilization = 0.64, PeakConnections = 3 });
        }

        a.Bursts.Add(new Burst { Host = "h2", StartBin = 1900, LengthBins = 1, Bytes = 1_000, PeakUtilization = 0.5 });
        a.ContentionLevels.Add(new ContentionLevel { Level = 0, Bins = 1800, Bursts = 9, BurstsWithCe = 0, BurstsWithRetransmits = 1, RetransmitFraction = 1.0 / 9 });
        a.ContentionLevels.Add(new ContentionLevel { Level = 1, Bins = 150, Bursts = 2, BurstsWithCe = 1, CeFraction = 0.5 });
        a.ContentionLevels.Add(new ContentionLevel { Level = 2, Bins = 50, Bursts = 1, BurstsWithCe = 1, CeFraction = 1 });
        var e = new SyncEvent
        {
            StartBin = 12,
            LengthBins = 3,
            Bytes = 27_000_000,
            CeBytes = 3_000,
            RetransmitBytes = 0,
            PeakRackIngressBitsPerSecond = 61.5e9,
            RackLinkCapacityBitsPerSecond = 75e9,
            PeakContention = 3,
        };
        e.Hosts.AddRange(["h1", "h2", "h3"]);
        a.Events.Add(e);
        a.UntrustedAlignmentHosts.Add("h3");
        c.Analysis = a;
        return c;
    }
}
