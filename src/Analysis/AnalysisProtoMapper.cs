using Millisampler.Contracts.V1;

namespace Millisampler.Analysis;

/// <summary>Maps a <see cref="RackAnalysis"/> onto the coordinator's wire message.</summary>
public static class AnalysisProtoMapper
{
    /// <summary>The analysis and its insights as <see cref="CaptureAnalysis"/>.</summary>
    public static CaptureAnalysis ToProto(this RackAnalysis a, RackInsights insights)
    {
        ArgumentNullException.ThrowIfNull(insights);
        CaptureAnalysis proto = a.ToProto();
        for (int i = 0; i < proto.Bursts.Count && i < insights.BurstCrossRegionShare.Count; i++)
        {
            if (insights.BurstCrossRegionShare[i] is { } share)
            {
                proto.Bursts[i].CrossRegionShare = share;
            }
        }

        foreach (CrossRegionLevelInfo l in insights.CrossRegionLevels)
        {
            if (l.Level < proto.ContentionLevels.Count)
            {
                ContentionLevel row = proto.ContentionLevels[l.Level];
                row.LongRttBursts = (uint)l.LongRttBursts;
                row.LongRttBurstsWithCe = (uint)l.LongRttBurstsWithCe;
                row.LongRttBurstsWithRetransmits = (uint)l.LongRttBurstsWithRetransmits;
                row.ShortRttBursts = (uint)l.ShortRttBursts;
                row.ShortRttBurstsWithCe = (uint)l.ShortRttBurstsWithCe;
                row.ShortRttBurstsWithRetransmits = (uint)l.ShortRttBurstsWithRetransmits;
                row.MeanCrossRegionShare = l.MeanCrossRegionShare;
            }
        }

        proto.IncidentGapBins = (uint)insights.IncidentGapBins;
        foreach (IncidentInfo inc in insights.Incidents)
        {
            var p = new Incident
            {
                StartBin = (uint)inc.StartBin,
                LengthBins = (uint)inc.LengthBins,
                Bytes = inc.Bytes,
                CeBytes = inc.CeBytes,
                RetransmitBytes = inc.RetransmitBytes,
                PeakContention = (uint)inc.PeakContention,
            };
            foreach (int e in inc.EventIndices)
            {
                p.Events.Add((uint)e);
            }

            p.Hosts.AddRange(inc.Hosts);
            proto.Incidents.Add(p);
        }

        foreach (IngressStallInfo st in insights.Stalls)
        {
            proto.IngressStalls.Add(new IngressStall
            {
                Host = st.Host,
                StartBin = (uint)st.StartBin,
                LengthBins = (uint)st.LengthBins,
                IngressBytesAround = st.IngressBytesAround,
                EgressBytes = st.EgressBytes,
            });
        }

        return proto;
    }

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
