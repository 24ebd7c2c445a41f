namespace Millisampler.Common.Time;

/// <summary>
/// Reads International Atomic Time, injectable. Start instants of runs are TAI nanoseconds since the epoch, the
/// clock the agents' kernel programs read (bpf_ktime_get_tai_ns).
/// </summary>
public abstract class TaiClock
{
    /// <summary>Now, TAI nanoseconds since 1970-01-01T00:00:00 TAI.</summary>
    public abstract long NowNs();

    /// <summary>TAI − UTC of this host's clock, seconds; 0 when nobody set the kernel's TAI offset.</summary>
    public abstract int TaiOffsetSeconds { get; }

    /// <summary>The host's CLOCK_TAI.</summary>
    public static TaiClock System { get; } = new SystemTaiClock();
}

/// <summary>CLOCK_TAI through clock_gettime(2): the real clock, disciplined by chrony or PTP.</summary>
public sealed class SystemTaiClock : TaiClock
{
    /// <inheritdoc />
    public override long NowNs() => SystemClocks.TaiNs();

    /// <inheritdoc />
    public override int TaiOffsetSeconds => SystemClocks.TaiOffsetSeconds();
}

/// <summary>A TAI clock derived from a <see cref="TimeProvider"/> plus a fixed offset: for tests and benchmarks.</summary>
public sealed class TimeProviderTaiClock(TimeProvider timeProvider, int taiOffsetSeconds = 0) : TaiClock
{
    /// <inheritdoc />
    public override long NowNs() => TimeNs.TaiFromUnix(timeProvider.UnixNowNs(), taiOffsetSeconds);

    /// <inheritdoc />
    public override int TaiOffsetSeconds => taiOffsetSeconds;
}
