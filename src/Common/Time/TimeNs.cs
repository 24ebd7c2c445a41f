namespace Millisampler.Common.Time;

/// <summary>
/// Instants and durations as the wire carries them: signed 64-bit nanoseconds. Unix ns count from
/// 1970-01-01T00:00:00Z (UTC); TAI ns from 1970-01-01T00:00:00 TAI, ahead of UTC by the TAI offset.
/// </summary>
public static class TimeNs
{
    /// <summary>Nanoseconds per second.</summary>
    public const long PerSecond = 1_000_000_000;

    /// <summary>Nanoseconds per millisecond.</summary>
    public const long PerMillisecond = 1_000_000;

    /// <summary>Nanoseconds per microsecond.</summary>
    public const long PerMicrosecond = 1_000;

    /// <summary>An instant as Unix ns (100 ns resolution, as <see cref="DateTimeOffset"/> has).</summary>
    public static long FromUnix(DateTimeOffset t) => (t - DateTimeOffset.UnixEpoch).Ticks * TimeSpan.NanosecondsPerTick;

    /// <summary>Unix ns as an instant, rounded toward the epoch to 100 ns.</summary>
    public static DateTimeOffset ToUnix(long unixNs) => DateTimeOffset.UnixEpoch.AddTicks(unixNs / TimeSpan.NanosecondsPerTick);

    /// <summary>A duration in ns (100 ns resolution, as <see cref="TimeSpan"/> has).</summary>
    public static long Of(TimeSpan duration) => duration.Ticks * TimeSpan.NanosecondsPerTick;

    /// <summary>A duration in ns as a <see cref="TimeSpan"/>, rounded toward zero to 100 ns.</summary>
    public static TimeSpan ToTimeSpan(long ns) => TimeSpan.FromTicks(ns / TimeSpan.NanosecondsPerTick);

    /// <summary>The TAI instant of a Unix instant, given TAI − UTC in seconds.</summary>
    public static long TaiFromUnix(long unixNs, int taiOffsetSeconds) => unixNs + (taiOffsetSeconds * PerSecond);

    /// <summary>The Unix instant of a TAI instant, given TAI − UTC in seconds.</summary>
    public static long UnixFromTai(long taiNs, int taiOffsetSeconds) => taiNs - (taiOffsetSeconds * PerSecond);

    /// <summary>Now, Unix ns, from <paramref name="time"/>.</summary>
    public static long UnixNowNs(this TimeProvider time) => FromUnix(time.GetUtcNow());
}
