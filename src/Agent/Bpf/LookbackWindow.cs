namespace Millisampler.Agent.Bpf;

/// <summary>A look-back window cannot be read: not wholly past, or no longer wholly in the ring.</summary>
public sealed class LookbackWindowException(string message) : Exception(message);

/// <summary>Which windows of absolute bins the look-back ring can still answer.</summary>
public static class LookbackWindow
{
    /// <summary>
    /// Bins at the old end of the ring that are never read: the kernel clears the shared sketch
    /// slot of the next bin ahead of time (so one slot is recycled one bin early), and a read
    /// takes a few milliseconds while the ring moves on.
    /// </summary>
    public const long GuardBins = 16;

    /// <summary>The oldest bin a read may start at when the current bin is <paramref name="nowBin"/>.</summary>
    public static long OldestReadable(LookbackRingOptions ring, long nowBin)
    {
        ArgumentNullException.ThrowIfNull(ring);
        return nowBin - ring.DepthBins + GuardBins + 1;
    }

    /// <summary>Throws <see cref="LookbackWindowException"/> (or ArgumentOutOfRange for nonsense) unless the window can be read.</summary>
    public static void Check(LookbackRingOptions ring, long firstBin, uint bins, long nowBin)
    {
        ArgumentNullException.ThrowIfNull(ring);
        if (bins == 0 || bins > ring.DepthBins - GuardBins)
        {
            throw new ArgumentOutOfRangeException(nameof(bins), $"A look-back window has 1..{ring.DepthBins - GuardBins} bins, not {bins}.");
        }

        if (firstBin < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(firstBin), "The first bin must not be negative.");
        }

        if (firstBin + bins > nowBin)
        {
            throw new LookbackWindowException($"The window [{firstBin}, {firstBin + bins}) is not wholly past: the current bin is {nowBin}.");
        }

        long oldest = OldestReadable(ring, nowBin);
        if (firstBin < oldest)
        {
            throw new LookbackWindowException($"Bin {firstBin} is no longer in the ring: the oldest bin held is {oldest} ({ring.DepthBins} bins of {ring.BinWidthNs} ns).");
        }
    }
}
