using System.Runtime.InteropServices;

namespace Millisampler.Coordinator.Time;

/// <summary>
/// Reads International Atomic Time. Start instants of runs are TAI nanoseconds since the epoch, the clock the
/// agents' kernel programs read (bpf_ktime_get_tai_ns), so the coordinator reads the same clock.
/// </summary>
public abstract class TaiClock
{
    /// <summary>Now, TAI nanoseconds since 1970-01-01T00:00:00 TAI.</summary>
    public abstract long NowNs();

    /// <summary>TAI − UTC of this host's clock, seconds; 0 when nobody set the kernel's TAI offset.</summary>
    public abstract int TaiOffsetSeconds { get; }
}

/// <summary>CLOCK_TAI through clock_gettime(2): the real clock, disciplined by chrony or PTP.</summary>
internal sealed partial class SystemTaiClock : TaiClock
{
    private const int ClockRealtime = 0;
    private const int ClockTai = 11;

    /// <inheritdoc />
    public override long NowNs() => Read(ClockTai);

    /// <inheritdoc />
    public override int TaiOffsetSeconds => (int)Math.Round((Read(ClockTai) - Read(ClockRealtime)) / 1e9);

    private static long Read(int clockId)
    {
        if (clock_gettime(clockId, out Timespec ts) != 0)
        {
            throw new InvalidOperationException(
                $"clock_gettime({clockId}) failed with errno {Marshal.GetLastPInvokeError()}; CLOCK_TAI needs Linux.");
        }

        return (ts.Seconds * 1_000_000_000L) + ts.Nanoseconds;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int clock_gettime(int clockId, out Timespec ts);
}

/// <summary>A TAI clock derived from a <see cref="TimeProvider"/> plus a fixed offset: for tests and benchmarks.</summary>
public sealed class TimeProviderTaiClock(TimeProvider timeProvider, int taiOffsetSeconds = 0) : TaiClock
{
    /// <inheritdoc />
    public override long NowNs()
    {
        long unixNs = (timeProvider.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks * 100;
        return unixNs + (taiOffsetSeconds * 1_000_000_000L);
    }

    /// <inheritdoc />
    public override int TaiOffsetSeconds => taiOffsetSeconds;
}
