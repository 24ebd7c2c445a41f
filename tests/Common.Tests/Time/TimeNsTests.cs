using Microsoft.Extensions.Time.Testing;
using Millisampler.Common.Time;

namespace Millisampler.Common.Tests.Time;

public sealed class TimeNsTests
{
    [Fact]
    public void FromUnix_CountsNanosecondsSinceTheEpoch()
    {
        Assert.Equal(0, TimeNs.FromUnix(DateTimeOffset.UnixEpoch));
        Assert.Equal(1_500_000_000, TimeNs.FromUnix(DateTimeOffset.UnixEpoch.AddMilliseconds(1500)));
        // 2026-01-01T00:00:00Z is 1,767,225,600 s after the epoch.
        Assert.Equal(1_767_225_600_000_000_000, TimeNs.FromUnix(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)));
    }

    [Fact]
    public void ToUnix_InvertsFromUnix_To100Ns()
    {
        var t = new DateTimeOffset(2026, 12, 2, 7, 30, 0, TimeSpan.Zero).AddTicks(1234567);
        Assert.Equal(t, TimeNs.ToUnix(TimeNs.FromUnix(t)));
        Assert.Equal(DateTimeOffset.UnixEpoch.AddTicks(1), TimeNs.ToUnix(199));
    }

    [Fact]
    public void Of_ConvertsDurations()
    {
        Assert.Equal(1_000_000, TimeNs.Of(TimeSpan.FromMilliseconds(1)));
        Assert.Equal(100, TimeNs.Of(TimeSpan.FromTicks(1)));
        Assert.Equal(TimeSpan.FromMicroseconds(250), TimeNs.ToTimeSpan(250_000));
    }

    [Fact]
    public void TaiAndUnix_DifferByTheOffset()
    {
        Assert.Equal(37_000_000_005, TimeNs.TaiFromUnix(5, 37));
        Assert.Equal(5, TimeNs.UnixFromTai(37_000_000_005, 37));
    }

    [Fact]
    public void TimeProviderTaiClock_IsUnixNowPlusTheOffset()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UnixEpoch.AddSeconds(10));
        var clock = new TimeProviderTaiClock(time, 37);
        Assert.Equal(47_000_000_000, clock.NowNs());
        Assert.Equal(37, clock.TaiOffsetSeconds);
        Assert.Equal(10_000_000_000, time.UnixNowNs());
    }

    [Fact]
    public void SystemClocks_TaiIsRealtimePlusTheKernelOffset()
    {
        // Independent truth: DateTimeOffset.UtcNow reads CLOCK_REALTIME too, so the two agree to well under a second.
        long realtime = SystemClocks.RealtimeNs();
        long dotnet = TimeNs.FromUnix(DateTimeOffset.UtcNow);
        Assert.InRange(Math.Abs(dotnet - realtime), 0, TimeNs.PerSecond);

        int offset = SystemClocks.TaiOffsetSeconds();
        long tai = SystemClocks.TaiNs();
        Assert.InRange(Math.Abs(TimeNs.UnixFromTai(tai, offset) - SystemClocks.RealtimeNs()), 0, TimeNs.PerSecond);
        Assert.Equal(offset, TaiClock.System.TaiOffsetSeconds);
    }
}
