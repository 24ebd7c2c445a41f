using Millisampler.Contracts.V1;

namespace Millisampler.Analysis;

/// <summary>Maps a <see cref="RackAnalysis"/> onto the coordinator's wire message.</summary>
public static class AnalysisProtoMapper
{
    /// <summary>The analysis as <see cref="CaptureAnalysis"/>; counts and bins become uint32.</summary>
    public static CaptureAnalysis ToProto(this RackAnalysis a)
    {
        ArgumentNullException.ThrowIfNull(a);
        var proto = new CaptureAnalysis
        {
            BurstThreshold = a.BurstThreshold,
            EventMinHosts = (uint)a.EventMinHosts,
        };

        foreach (BurstInfo b in a.Bursts)
        {
            proto.Bursts.Add(new Burst
            {
                Host = b.Host,
                StartBin = (uint)b.StartBin,
                LengthBins = (uint)b.LengthBins,
                Bytes = b.Bytes,
                PeakUtilization = b.PeakUtilization,
                CeBytes = b.CeBytes,
                RetransmitBytes = b.RetransmitBytes,
                PeakConnections = b.PeakConnections,
                MaxContention = (uint)b.MaxContention,
                MeanContention = b.MeanContention,
            });
        }

        foreach (int c in a.Contention)
        {
            proto.Contention.Add((uint)c);
        }

        foreach (ContentionLevelInfo l in a.ContentionLevels)
        {
            proto.ContentionLevels.Add(new ContentionLevel
            {
                Level = (uint)l.Level,
                Bins = (uint)l.Bins,
                Bursts = (uint)l.Bursts,
                BurstsWithCe = (uint)l.BurstsWithCe,
                BurstsWithRetransmits = (uint)l.BurstsWithRetransmits,
                CeFraction = l.CeFraction,
                RetransmitFraction = l.RetransmitFraction,
            });
        }

        foreach (SyncEventInfo e in a.Events)
        {
            var ev = new SyncEvent
            {
                StartBin = (uint)e.StartBin,
                LengthBins = (uint)e.LengthBins,
                Bytes = e.Bytes,
                CeBytes = e.CeBytes,
                RetransmitBytes = e.RetransmitBytes,
                PeakRackIngressBitsPerSecond = e.PeakRackIngressBitsPerSecond,
                RackLinkCapacityBitsPerSecond = e.RackLinkCapacityBitsPerSecond,
                PeakContention = (uint)e.PeakContention,
            };
            ev.Hosts.AddRange(e.Hosts);
            proto.Events.Add(ev);
        }

        proto.UntrustedAlignmentHosts.AddRange(a.UntrustedAlignmentHosts);
        return proto;
    }
}
