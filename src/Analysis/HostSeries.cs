namespace Millisampler.Analysis;

/// <summary>One host's ingress series over a rack capture, bin-aligned with every other host's.</summary>
/// <param name="Host">Host name; unique within a capture.</param>
/// <param name="LinkSpeedBitsPerSecond">Link speed C_h, bits/s; must be positive.</param>
/// <param name="ClockErrorNs">Clock error bound the host stated at arm time, ns; negative = unknown.</param>
/// <param name="BinsCovered">Bins [0, BinsCovered) hold data; later bins are missing (the host was cut short).</param>
/// <param name="IngressBytes">Bytes received per bin; length = capture bins.</param>
/// <param name="IngressCeBytes">Ingress bytes carrying ECN CE per bin.</param>
/// <param name="IngressRetransmitBytes">Ingress retransmitted TCP payload bytes per bin.</param>
/// <param name="IngressConnections">Estimated ingress connections per bin.</param>
/// <param name="EgressBytes">Bytes sent per bin; null when the source has none (then no ingress stall can be told).</param>
/// <param name="IngressCrossRegionBytes">Ingress bytes of cross-region flows per bin; null when the source has none.</param>
public sealed record HostSeries(
    string Host,
    double LinkSpeedBitsPerSecond,
    long ClockErrorNs,
    int BinsCovered,
    ulong[] IngressBytes,
    ulong[] IngressCeBytes,
    ulong[] IngressRetransmitBytes,
    uint[] IngressConnections,
    ulong[]? EgressBytes = null,
    ulong[]? IngressCrossRegionBytes = null);

/// <summary>Thresholds of a rack analysis. Defaults and their reasons: docs/analysis.md.</summary>
/// <param name="BurstThreshold">θ: a bin is in a burst when utilization ≥ θ; 0 &lt; θ ≤ 1.</param>
/// <param name="EventMinHosts">k: a bin belongs to a synchronized event when at least k hosts burst in it; k ≥ 2.</param>
/// <param name="MaxParallelism">
/// Threads the host scan may use; 0 = one per processor. The result does not depend on it.
/// </param>
public sealed record AnalysisOptions(double BurstThreshold = 0.5, int EventMinHosts = 2, int MaxParallelism = 0)
{
    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the field and its allowed range.</summary>
    public void Validate()
    {
        // NaN fails both comparisons, so it is rejected too.
        if (!(BurstThreshold > 0 && BurstThreshold <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(BurstThreshold), BurstThreshold,
                "BurstThreshold must be in (0, 1] (a fraction of link speed).");
        }

        if (EventMinHosts < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(EventMinHosts), EventMinHosts,
                "EventMinHosts must be at least 2: one host alone cannot contend with itself.");
        }

        if (MaxParallelism < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MaxParallelism), MaxParallelism,
                "MaxParallelism must be 0 (one thread per processor) or more.");
        }
    }
}
