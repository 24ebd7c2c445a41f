using Millisampler.Contracts.V1;

namespace Millisampler.Coordinator.Sweeps;

/// <summary>
/// The compact summary a sweep capture keeps next to the full capture (pure: a capture and its runs in, a summary
/// out). Trends and rankings read only summaries, so they stay fast and survive the raw series' shorter retention.
/// </summary>
internal static class SweepSummarizer
{
    /// <summary>Lower edges of the burst-length buckets, bins: [1], [2,3], [4,7], [8,15], [16,31], [32,∞).</summary>
    public static readonly IReadOnlyList<uint> BurstLengthEdges = [1, 2, 4, 8, 16, 32];

    /// <summary>Lower edges of the burst-peak buckets, fraction of link speed: [0,0.6), [0.6,0.7), ..., [1.0,∞).</summary>
    public static readonly IReadOnlyList<double> BurstPeakEdges = [0, 0.6, 0.7, 0.8, 0.9, 1.0];

    /// <param name="capture">An analysed capture (with its analysis).</param>
    /// <param name="runs">Its per-host runs.</param>
    /// <param name="sweep">The sweep that took it.</param>
    /// <param name="startUnixNs">Start of bin 0, unix ns.</param>
    public static SweepSummary Summarize(Capture capture, IReadOnlyCollection<Run> runs, string sweep, long startUnixNs)
    {
        CaptureAnalysis analysis = capture.Analysis ?? new CaptureAnalysis();
        var speeds = capture.Hosts.Where(h => h.LinkSpeedBitsPerSecond > 0)
            .ToDictionary(h => h.Host, h => (double)h.LinkSpeedBitsPerSecond, StringComparer.Ordinal);
        Run[] analysed = [.. runs.Where(r => speeds.ContainsKey(r.Host) && r.Series is not null)];
        int bins = analysis.Contention.Count > 0 ? analysis.Contention.Count : (int)capture.Bins;
        double binSeconds = capture.BinWidthNs / 1e9;
        double hostSeconds = analysed.Length * bins * binSeconds;

        var summary = new SweepSummary
        {
            CaptureId = capture.CaptureId,
            Sweep = sweep,
            Rack = capture.Rack,
            BinWidthNs = capture.BinWidthNs,
            Bins = (uint)bins,
            StartUnixNs = startUnixNs,
            Hosts = (uint)analysed.Length,
            HostSeconds = hostSeconds,
            Bursts = (uint)analysis.Bursts.Count,
            BurstsPerHostSecond = hostSeconds > 0 ? analysis.Bursts.Count / hostSeconds : 0,
            SyncEvents = (uint)analysis.Events.Count,
            SyncEventsWithLoss = (uint)analysis.Events.Count(e => e.RetransmitBytes > 0),
        };

        var lengths = new uint[BurstLengthEdges.Count];
        var peaks = new uint[BurstPeakEdges.Count];
        foreach (Burst b in analysis.Bursts)
        {
            lengths[Bucket(BurstLengthEdges, b.LengthBins)]++;
            peaks[Bucket(BurstPeakEdges, b.PeakUtilization)]++;
        }

        summary.BurstLengthHistogram.AddRange(lengths);
        summary.BurstPeakHistogram.AddRange(peaks);
        if (analysis.Bursts.Count > 0)
        {
            summary.MeanBurstLengthBins = analysis.Bursts.Average(b => (double)b.LengthBins);
            summary.MaxBurstLengthBins = analysis.Bursts.Max(b => b.LengthBins);
        }

        if (bins > 0)
        {
            foreach (ContentionLevel level in analysis.ContentionLevels.OrderBy(l => l.Level))
            {
                summary.Contention.Add(new ContentionShare
                {
                    Level = level.Level,
                    BinShare = (double)level.Bins / bins,
                    CeFraction = level.CeFraction,
                    RetransmitFraction = level.RetransmitFraction,
                });
            }
        }

        double ingress = 0, ce = 0, retransmit = 0, capacity = analysed.Sum(r => speeds[r.Host]);
        var rackIngress = new double[bins];
        var rackRetransmit = new double[bins];
        foreach (Run r in analysed)
        {
            RunSeries s = r.Series;
            for (int b = 0; b < bins; b++)
            {
                double bytes = b < s.IngressBytes.Count ? s.IngressBytes[b] : 0;
                double rt = b < s.IngressRetransmitBytes.Count ? s.IngressRetransmitBytes[b] : 0;
                ingress += bytes;
                retransmit += rt;
                ce += b < s.IngressCeBytes.Count ? s.IngressCeBytes[b] : 0;
                rackIngress[b] += bytes;
                rackRetransmit[b] += rt;
            }
        }

        summary.CeFraction = ingress > 0 ? ce / ingress : 0;
        summary.RetransmitFraction = ingress > 0 ? retransmit / ingress : 0;
        summary.MaxRackIngressFraction = capacity > 0 && bins > 0 ? rackIngress.Max() * 8 / binSeconds / capacity : 0;

        int contended = 0, lossy = 0;
        long contentionSum = 0;
        for (int b = 0; b < analysis.Contention.Count; b++)
        {
            uint c = analysis.Contention[b];
            contentionSum += c;
            if (c >= 2)
            {
                contended++;
                if (rackRetransmit[b] > 0)
                {
                    lossy++;
                }
            }
        }

        if (bins > 0)
        {
            summary.MeanContention = (double)contentionSum / bins;
            summary.ContendedBinShare = (double)contended / bins;
            summary.LossyContendedBinShare = (double)lossy / bins;
        }

        return summary;
    }

    private static int Bucket<T>(IReadOnlyList<T> lowerEdges, T value) where T : IComparable<T>
    {
        int i = lowerEdges.Count - 1;
        while (i > 0 && value.CompareTo(lowerEdges[i]) < 0)
        {
            i--;
        }

        return i;
    }
}
