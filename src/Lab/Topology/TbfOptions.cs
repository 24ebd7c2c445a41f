namespace Millisampler.Lab;

/// <summary>
/// A token-bucket bottleneck (tc tbf) on an interface's egress: the rate packets leave at, the burst
/// the bucket holds, and the queue in front of it, given either in bytes or as the longest wait.
/// </summary>
/// <param name="RateBitsPerSecond">Drain rate, bits/s.</param>
/// <param name="BurstBytes">Bucket size, bytes; at least one MTU-sized frame.</param>
/// <param name="LimitBytes">Queue size, bytes; packets beyond it are dropped. Set this or <paramref name="Latency"/>.</param>
/// <param name="Latency">Longest time a packet may wait in the queue; the kernel turns it into a byte limit.</param>
public sealed record TbfOptions(long RateBitsPerSecond, int BurstBytes, int? LimitBytes = null, TimeSpan? Latency = null)
{
    /// <summary>1 Gbit/s, a 32 KiB bucket and a 256 KiB queue: a shallow ToR port buffer at a rate veth pairs sustain on small machines.</summary>
    public static TbfOptions Gigabit { get; } = new(1_000_000_000, 32 * 1024, LimitBytes: 256 * 1024);

    /// <summary>Arguments after <c>tc qdisc replace dev X root</c>.</summary>
    public IReadOnlyList<string> ToTcArguments()
    {
        Validate();
        var args = new List<string> { "tbf", "rate", $"{RateBitsPerSecond}bit", "burst", $"{BurstBytes}b" };
        if (LimitBytes is { } limit)
        {
            args.AddRange(["limit", $"{limit}b"]);
        }
        else
        {
            args.AddRange(["latency", $"{(long)Latency!.Value.TotalMicroseconds}us"]);
        }
        return args;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the field and the allowed range.</summary>
    public void Validate()
    {
        if (RateBitsPerSecond < 8_000)
        {
            throw new ArgumentException($"RateBitsPerSecond must be at least 8000 bit/s, was {RateBitsPerSecond}.");
        }
        if (BurstBytes < 1600)
        {
            throw new ArgumentException($"BurstBytes must be at least 1600 (one frame), was {BurstBytes}.");
        }
        if ((LimitBytes is null) == (Latency is null))
        {
            throw new ArgumentException("Set exactly one of LimitBytes and Latency.");
        }
        if (LimitBytes is < 1600)
        {
            throw new ArgumentException($"LimitBytes must be at least 1600, was {LimitBytes}.");
        }
        if (Latency is { } l && l <= TimeSpan.Zero)
        {
            throw new ArgumentException($"Latency must be positive, was {l}.");
        }
    }
}
