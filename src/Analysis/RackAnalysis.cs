namespace Millisampler.Analysis;

/// <summary>The analysis of one rack capture. Definitions: docs/analysis.md.</summary>
/// <param name="BurstThreshold">θ used.</param>
/// <param name="EventMinHosts">k used.</param>
/// <param name="Bins">Bins in the capture.</param>
/// <param name="BinWidthNs">Bin width, ns.</param>
/// <param name="Bursts">Every burst of every host, sorted by start bin, then host (ordinal).</param>
/// <param name="Contention">c[b]: hosts in a burst in bin b; length <paramref name="Bins"/>.</param>
/// <param name="ContentionLevels">One row per level 0..max c.</param>
/// <param name="Events">Synchronized events, sorted by start bin.</param>
/// <param name="UntrustedAlignmentHosts">Hosts whose clock error exceeds half a bin (or is unknown), sorted.</param>
public sealed record RackAnalysis(
    double BurstThreshold,
    int EventMinHosts,
    int Bins,
    long BinWidthNs,
    IReadOnlyList<BurstInfo> Bursts,
    int[] Contention,
    IReadOnlyList<ContentionLevelInfo> ContentionLevels,
    IReadOnlyList<SyncEventInfo> Events,
    IReadOnlyList<string> UntrustedAlignmentHosts);

/// <summary>
/// A maximal run of one host's bins with utilization ≥ θ. A value (a struct): a large rack has hundreds of thousands of
/// bursts, and as objects their allocation and the collections it set off were about a fifth of the analysis
/// (92 hosts × 200,000 bins, one thread).
/// </summary>
/// <param name="Host">Host name.</param>
/// <param name="StartBin">First bin of the burst.</param>
/// <param name="LengthBins">Bins in the burst.</param>
/// <param name="Bytes">Ingress bytes inside the burst.</param>
/// <param name="PeakUtilization">Largest bin utilization inside the burst (fraction of link speed).</param>
/// <param name="CeBytes">CE-marked ingress bytes inside the burst.</param>
/// <param name="RetransmitBytes">Retransmitted ingress bytes inside the burst.</param>
/// <param name="PeakConnections">Largest ingress connection estimate inside the burst (incast degree).</param>
/// <param name="MaxContention">Largest number of other hosts bursting in one of its bins.</param>
/// <param name="MeanContention">Mean over its bins of the number of other hosts bursting.</param>
public readonly record struct BurstInfo(
    string Host,
    int StartBin,
    int LengthBins,
    ulong Bytes,
    double PeakUtilization,
    ulong CeBytes,
    ulong RetransmitBytes,
    uint PeakConnections,
    int MaxContention,
    double MeanContention);

/// <summary>One row of the contention distribution and of the joint contention/loss view.</summary>
/// <param name="Level">The level: hosts in a burst at once for <paramref name="Bins"/>; other hosts met for the burst columns.</param>
/// <param name="Bins">Bins (covered by at least one host) with exactly <paramref name="Level"/> hosts in a burst.</param>
/// <param name="Bursts">Bursts whose <see cref="BurstInfo.MaxContention"/> is <paramref name="Level"/>.</param>
/// <param name="BurstsWithCe">Of those, bursts with at least one CE-marked byte.</param>
/// <param name="BurstsWithRetransmits">Of those, bursts with at least one retransmitted byte.</param>
/// <param name="CeFraction">BurstsWithCe / Bursts; 0 when there are no bursts.</param>
/// <param name="RetransmitFraction">BurstsWithRetransmits / Bursts; 0 when there are no bursts.</param>
public sealed record ContentionLevelInfo(
    int Level,
    int Bins,
    int Bursts,
    int BurstsWithCe,
    int BurstsWithRetransmits,
    double CeFraction,
    double RetransmitFraction);

/// <summary>A maximal run of bins in which at least k hosts burst at once.</summary>
/// <param name="StartBin">First bin of the event.</param>
/// <param name="LengthBins">Bins in the event.</param>
/// <param name="Hosts">Hosts bursting in any bin of the event, sorted (ordinal).</param>
/// <param name="Bytes">Ingress bytes of those hosts over the event's bins.</param>
/// <param name="CeBytes">CE-marked ingress bytes of those hosts over the event's bins.</param>
/// <param name="RetransmitBytes">Retransmitted ingress bytes of those hosts over the event's bins.</param>
/// <param name="PeakRackIngressBitsPerSecond">Largest per-bin sum over every host of ingress rate, bits/s.</param>
/// <param name="RackLinkCapacityBitsPerSecond">Sum of every host's link speed, bits/s.</param>
/// <param name="PeakContention">Largest c[b] inside the event.</param>
public sealed record SyncEventInfo(
    int StartBin,
    int LengthBins,
    IReadOnlyList<string> Hosts,
    ulong Bytes,
    ulong CeBytes,
    ulong RetransmitBytes,
    double PeakRackIngressBitsPerSecond,
    double RackLinkCapacityBitsPerSecond,
    int PeakContention);
