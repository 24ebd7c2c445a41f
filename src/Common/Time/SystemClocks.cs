using System.Runtime.InteropServices;

namespace Millisampler.Common.Time;

/// <summary>
/// The kernel's clocks through clock_gettime(2), ns since each clock's epoch. CLOCK_TAI is the clock the
/// sampler's kernel programs read (bpf_ktime_get_tai_ns), so start instants are TAI; every program reads it here.
/// </summary>
public static partial class SystemClocks
{
    /// <summary>CLOCK_REALTIME (UTC).</summary>
    public const int Realtime = 0;

    /// <summary>CLOCK_MONOTONIC.</summary>
    public const int Monotonic = 1;

    /// <summary>CLOCK_TAI: CLOCK_REALTIME plus the kernel's TAI offset (0 until a clock daemon sets it).</summary>
    public const int Tai = 11;

    /// <summary>CLOCK_TAI now, ns since 1970-01-01T00:00:00 TAI.</summary>
    public static long TaiNs() => ReadNs(Tai);

    /// <summary>CLOCK_MONOTONIC now, ns.</summary>
    public static long MonotonicNs() => ReadNs(Monotonic);

    /// <summary>CLOCK_REALTIME now, ns since the Unix epoch.</summary>
    public static long RealtimeNs() => ReadNs(Realtime);

    /// <summary>TAI − UTC of this host's clock, whole seconds; 0 when nobody set the kernel's TAI offset.</summary>
    public static int TaiOffsetSeconds() => (int)Math.Round((ReadNs(Tai) - ReadNs(Realtime)) / 1e9);

    /// <summary>One clock now, ns.</summary>
    /// <exception cref="InvalidOperationException">clock_gettime failed (not Linux, or an unknown clock).</exception>
    public static long ReadNs(int clockId)
    {
        if (clock_gettime(clockId, out Timespec ts) != 0)
        {
            throw new InvalidOperationException(
                $"clock_gettime({clockId}) failed with errno {Marshal.GetLastPInvokeError()}; CLOCK_TAI needs Linux.");
        }

        return (ts.Seconds * TimeNs.PerSecond) + ts.Nanoseconds;
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
