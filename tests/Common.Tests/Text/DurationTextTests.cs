using Millisampler.Common.Text;

namespace Millisampler.Common.Tests.Text;

public class DurationTextTests
{
    [Theory]
    [InlineData("100us", 100_000)]
    [InlineData("100µs", 100_000)]
    [InlineData("1ms", 1_000_000)]
    [InlineData("10ms", 10_000_000)]
    [InlineData("1.5ms", 1_500_000)]
    [InlineData("2s", 2_000_000_000)]
    [InlineData("250ns", 250)]
    [InlineData("30m", 1_800_000_000_000)]
    [InlineData("1h", 3_600_000_000_000)]
    [InlineData("2d", 172_800_000_000_000)]
    [InlineData(" 10MS ", 10_000_000)]
    [InlineData("500 ms", 500_000_000)]
    public void TryParseNs_UnitsEngineersType_GivesNanoseconds(string text, long expected)
    {
        Assert.True(DurationText.TryParseNs(text, out long ns));
        Assert.Equal(expected, ns);
    }

    [Theory]
    [InlineData("3x")]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData(null)]
    [InlineData("10")]
    [InlineData("ms")]
    [InlineData("0ms")]
    [InlineData("-1ms")]
    [InlineData("1.5ns")]
    [InlineData("1e3ms")]
    [InlineData("99999999999999999999d")]
    public void TryParseNs_NotADuration_IsRejected(string? text)
    {
        Assert.False(DurationText.TryParseNs(text, out _));
    }

    [Theory]
    [InlineData(100_000, "100us")]
    [InlineData(1_000_000, "1ms")]
    [InlineData(1_500_000, "1.5ms")]
    [InlineData(2_000_000_000, "2s")]
    [InlineData(250, "250ns")]
    [InlineData(1_234_500_000, "1.2345s")]
    public void Format_PicksTheLargestUnitAboveOne(long ns, string expected)
    {
        Assert.Equal(expected, DurationText.Format(ns));
    }

    [Fact]
    public void FormatOffset_SignsEveryOffset()
    {
        Assert.Equal("+0s", DurationText.FormatOffset(0));
        Assert.Equal("+12ms", DurationText.FormatOffset(12_000_000));
    }

    [Theory]
    [InlineData(500_000_000, "<1s")]
    [InlineData(42_000_000_000, "42s")]
    [InlineData(300_000_000_000, "5m")]
    [InlineData(3 * 3_600_000_000_000, "3h")]
    [InlineData(3 * 86_400_000_000_000, "3d")]
    public void FormatAgo_IsCoarse(long ns, string expected)
    {
        Assert.Equal(expected, DurationText.FormatAgo(ns));
    }
}
