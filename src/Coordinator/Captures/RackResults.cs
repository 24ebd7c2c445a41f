using System.Collections.Concurrent;
using Millisampler.Analysis;
using Millisampler.Contracts.V1;

namespace Millisampler.Coordinator.Captures;

/// <summary>
/// The figures an engineer alerts on, from one analysed capture of a rack. Definitions: docs/coordinator.md (Metrics).
/// </summary>
/// <param name="Bursts">Bursts of every host.</param>
/// <param name="MaxContention">Largest c[b]: hosts bursting in the same bin.</param>
/// <param name="MeanContention">Mean of c[b] over the bins where at least one host bursts; 0 without bursts.</param>
/// <param name="ContendedBinShare">Share of the capture's bins with c[b] ≥ 2.</param>
/// <param name="BurstCeBytes">CE-marked ingress bytes inside bursts.</param>
/// <param name="BurstRetransmitBytes">Retransmitted ingress bytes inside bursts.</param>
/// <param name="PeakRackIngressFraction">Largest per-bin rack ingress (every analysed host) over the rack's link capacity.</param>
/// <param name="SyncEvents">Synchronized events (at least k hosts bursting at once).</param>
/// <param name="CompletedAtUnixNs">When the capture completed, unix ns.</param>
internal sealed record RackResultSummary(
    int Bursts,
    int MaxContention,
    double MeanContention,
    double ContendedBinShare,
    ulong BurstCeBytes,
    ulong BurstRetransmitBytes,
    double PeakRackIngressFraction,
    int SyncEvents,
    long CompletedAtUnixNs)
{
    /// <summary>Summarises <paramref name="analysis"/> and the analysed hosts' <paramref name="series"/> (bins of <paramref name="binWidthNs"/>).</summary>
    public static RackResultSummary From(CaptureAnalysis analysis, IReadOnlyList<HostSeries> series, long binWidthNs, long completedAtUnixNs)
    {
        ArgumentNullException.ThrowIfNull(analysis);
        ArgumentNullException.ThrowIfNull(series);
        int max = 0, contended = 0, bursting = 0;
        long sum = 0;
        foreach (uint c in analysis.Contention)
        {
            max = Math.Max(max, (int)c);
            if (c >= 1)
            {
                bursting++;
                sum += c;
            }

            if (c >= 2)
            {
                contended++;
            }
        }

        ulong ce = 0, retransmit = 0;
        foreach (Burst b in analysis.Bursts)
        {
            ce += b.CeBytes;
            retransmit += b.RetransmitBytes;
        }

        double capacity = series.Sum(s => s.LinkSpeedBitsPerSecond);
        double peakBytes = 0;
        int bins = series.Count == 0 ? 0 : series.Max(s => s.IngressBytes.Length);
        for (int b = 0; b < bins; b++)
        {
            double total = 0;
            foreach (HostSeries s in series)
            {
                if (b < s.IngressBytes.Length)
                {
                    total += s.IngressBytes[b];
                }
            }

            peakBytes = Math.Max(peakBytes, total);
        }

        double peakFraction = capacity > 0 && binWidthNs > 0 ? peakBytes * 8 / (binWidthNs / 1e9) / capacity : 0;
        return new RackResultSummary(
            analysis.Bursts.Count,
            max,
            bursting == 0 ? 0 : (double)sum / bursting,
            analysis.Contention.Count == 0 ? 0 : (double)contended / analysis.Contention.Count,
            ce,
            retransmit,
            peakFraction,
            analysis.Events.Count,
            completedAtUnixNs);
    }
}

/// <summary>The latest <see cref="RackResultSummary"/> of each rack and bin width, for the gauges; updated when a capture is analysed.</summary>
internal sealed class RackResults
{
    private readonly ConcurrentDictionary<(string Rack, long BinWidthNs), RackResultSummary> _latest = new();

    /// <summary>Keeps <paramref name="summary"/> unless a later capture of the same rack and bin width is already kept.</summary>
    public void Record(string rack, long binWidthNs, RackResultSummary summary) =>
        _latest.AddOrUpdate((rack, binWidthNs), summary, (_, old) => old.CompletedAtUnixNs > summary.CompletedAtUnixNs ? old : summary);

    /// <summary>Every rack and bin width with its latest summary.</summary>
    public IReadOnlyList<(string Rack, long BinWidthNs, RackResultSummary Summary)> All() =>
        [.. _latest.Select(kv => (kv.Key.Rack, kv.Key.BinWidthNs, kv.Value))];
}
