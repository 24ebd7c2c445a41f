using Millisampler.Common.Time;

namespace Millisampler.Lab;

/// <summary>
/// Traffic timing on CLOCK_TAI (read through <see cref="SystemClocks"/>), the clock the sampler's BPF side reads with bpf_ktime_get_tai_ns(), so traffic can be
/// started at instants that line up with capture bins.
/// </summary>
public static class TaiClock
{
    private const long NsPerSecond = 1_000_000_000;

    /// <summary>How close to the target <see cref="SleepUntil"/> stops sleeping and starts spinning, ns.</summary>
    public const long SpinWindowNs = 200_000;

    /// <summary>Now on CLOCK_TAI, ns since the epoch.</summary>
    public static long NowNs() => SystemClocks.TaiNs();

    /// <summary>The CLOCK_TAI instant <paramref name="delay"/> from now, ns.</summary>
    public static long FromNow(TimeSpan delay) => NowNs() + TimeNs.Of(delay);

    /// <summary>
    /// Blocks until CLOCK_TAI reaches <paramref name="taiNs"/>: sleeps (clock_nanosleep on CLOCK_TAI,
    /// absolute) until <see cref="SpinWindowNs"/> before it, then spins (yielding the CPU between reads). Returns the time it woke, ns;
    /// at once if the instant has passed. Checks <paramref name="cancellationToken"/> at least every 50 ms.
    /// </summary>
    public static long SleepUntil(long taiNs, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var now = NowNs();
            var remaining = taiNs - now;
            if (remaining <= SpinWindowNs)
            {
                break;
            }
            var wake = Math.Min(taiNs - SpinWindowNs, now + (50 * 1_000_000));
            var ts = new Libc.Timespec { Seconds = wake / NsPerSecond, Nanoseconds = wake % NsPerSecond };
            Libc.ClockNanosleep(Libc.CLOCK_TAI, Libc.TIMER_ABSTIME, ts, 0);
        }
        long t;
        while ((t = NowNs()) < taiNs)
        {
            // Yield rather than pure spin: with more spinning senders than cores, a pure spinner keeps
            // the others off the CPU for a whole scheduler slice (milliseconds).
            Thread.Yield();
        }
        return t;
    }
}
