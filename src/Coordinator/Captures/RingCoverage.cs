using Millisampler.Common.Text;
using Millisampler.Coordinator.Membership;

namespace Millisampler.Coordinator.Captures;

/// <summary>Whether an agent's look-back ring, as its GetInfo stated it, still holds a window of absolute bins. Pure.</summary>
internal static class RingCoverage
{
    /// <summary>
    /// Why the ring cannot serve bins [<paramref name="firstBin"/>, +<paramref name="bins"/>) of width
    /// <paramref name="binWidthNs"/> when read in absolute bin <paramref name="nowBin"/>; null when it can, or when the
    /// agent has not stated its rings yet (then the agent itself answers).
    /// </summary>
    public static string? Missing(AgentLimits? limits, long binWidthNs, long firstBin, uint bins, long nowBin)
    {
        if (limits is null)
        {
            return null;
        }

        if (limits.LookbackRings.Count == 0)
        {
            return "the agent's look-back recorder is off";
        }

        if (limits.Ring(binWidthNs) is not { } ring)
        {
            return $"no ring of {DurationText.Format(binWidthNs)} bins (the agent keeps {string.Join(", ", limits.LookbackRings.Select(r => $"{DurationText.Format(r.BinWidthNs)} × {r.DepthBins}"))})";
        }

        if (bins > ring.DepthBins)
        {
            return $"the window is {bins} bins, the ring holds {ring.DepthBins}";
        }

        // The bin being written is nowBin; the ring holds nowBin − depth + 1 .. nowBin.
        long oldest = nowBin - ring.DepthBins + 1;
        if (firstBin < oldest)
        {
            return $"its first bin {firstBin} was overwritten; the oldest still held is {oldest} ({DurationText.Format((oldest - firstBin) * binWidthNs)} later)";
        }

        return null;
    }
}
