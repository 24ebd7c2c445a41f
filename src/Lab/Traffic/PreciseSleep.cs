using System.Diagnostics;

namespace Millisampler.Lab;

/// <summary>Sub-millisecond sleeps (clock_nanosleep on CLOCK_MONOTONIC); Thread.Sleep only has whole milliseconds.</summary>
internal static class PreciseSleep
{
    /// <summary>Sleeps about <paramref name="stopwatchTicks"/> (Stopwatch ticks); may return early on a signal.</summary>
    public static void For(long stopwatchTicks)
    {
        if (stopwatchTicks <= 0)
        {
            return;
        }
        var ns = stopwatchTicks * (1_000_000_000.0 / Stopwatch.Frequency);
        var ts = new Libc.Timespec { Seconds = (long)(ns / 1e9), Nanoseconds = (long)(ns % 1e9) };
        Libc.ClockNanosleep(Libc.CLOCK_MONOTONIC, 0, ts, 0);
    }
}
