using Millisampler.Common.Text;

namespace Millisampler.Common.Tests.Text;

/// <summary>
/// Every spelling a command accepted before the parsers were unified is still accepted, with the same value:
/// the agent's `capture --interval/--start-in` and `Agent:Schedule:BinWidths`, the CLI's durations, the lab
/// demo's `--interval`, the agent's `--link-speed` and the CLI's rates.
/// </summary>
public sealed class EveryCommandsUnitsTests
{
    // Moved from the agent's TextParsingTests (its own DurationText accepted ns, us, µs, ms, s).
    [Theory]
    [InlineData("100us", 100_000)]
    [InlineData("1ms", 1_000_000)]
    [InlineData("10ms", 10_000_000)]
    [InlineData("1.5s", 1_500_000_000)]
    [InlineData("250ns", 250)]
    [InlineData("100µs", 100_000)]
    [InlineData("10MS", 10_000_000)]
    public void AgentDurations_Parse_AndFormatExactReadsBack(string text, long ns)
    {
        Assert.True(DurationText.TryParseNs(text, out long parsed));
        Assert.Equal(ns, parsed);
        Assert.True(DurationText.TryParseNs(DurationText.FormatExact(ns), out long again));
        Assert.Equal(ns, again);
        Assert.True(DurationText.TryParseNs(DurationText.Format(ns), out long readable));
        Assert.Equal(ns, readable);
    }

    [Theory]
    [InlineData("")]
    [InlineData("10")]
    [InlineData("-1ms")]
    [InlineData("0ms")]
    [InlineData("1.5ns")]
    [InlineData("3x")]
    public void AgentDurations_RejectNonsense(string text) => Assert.False(DurationText.TryParseNs(text, out _));

    // The lab demo's --interval accepted us, ms and s (case-sensitive); each still means the same.
    [Theory]
    [InlineData("100us", 100_000)]
    [InlineData("1ms", 1_000_000)]
    [InlineData("10ms", 10_000_000)]
    [InlineData("0.5ms", 500_000)]
    [InlineData("1s", 1_000_000_000)]
    public void DemoIntervals_Parse(string text, long ns)
    {
        Assert.True(DurationText.TryParseNs(text, out long parsed));
        Assert.Equal(ns, parsed);
    }

    [Theory]
    [InlineData(100_000, "100us")]
    [InlineData(1_500_000, "1500us")]
    [InlineData(10_000_000, "10ms")]
    [InlineData(2_000_000_000, "2s")]
    [InlineData(250, "250ns")]
    [InlineData(1_000_000_001, "1000000001ns")]
    public void FormatExact_IsWholeAndShortest(long ns, string expected) => Assert.Equal(expected, DurationText.FormatExact(ns));

    // Moved from the agent's TextParsingTests (its LinkSpeedText), plus the other spellings it accepted.
    [Theory]
    [InlineData("10g", 10_000_000_000UL)]
    [InlineData("25G", 25_000_000_000UL)]
    [InlineData("100m", 100_000_000UL)]
    [InlineData("12.5g", 12_500_000_000UL)]
    [InlineData("10gbit", 10_000_000_000UL)]
    [InlineData("10gbps", 10_000_000_000UL)]
    [InlineData("1k", 1_000UL)]
    [InlineData("1t", 1_000_000_000_000UL)]
    [InlineData("400g", 400_000_000_000UL)]
    [InlineData("1000000", 1_000_000UL)]
    public void AgentLinkSpeeds_Parse(string text, ulong bps)
    {
        Assert.True(RateText.TryParseLinkSpeed(text, out ulong parsed));
        Assert.Equal(bps, parsed);
    }

    // What a person types in the docs' own words is understood by every command now.
    [Theory]
    [InlineData("10 Gbit/s", 10e9)]
    [InlineData("10Gbit/s", 10e9)]
    [InlineData("10 Gb/s", 10e9)]
    [InlineData("25 G", 25e9)]
    [InlineData("100 Mbits/s", 100e6)]
    [InlineData("1.5 Tbit/s", 1.5e12)]
    public void SpelledOutRates_Parse(string text, double bps)
    {
        Assert.True(RateText.TryParseBitsPerSecond(text, out double parsed));
        Assert.Equal(bps, parsed);
        Assert.True(RateText.TryParseLinkSpeed(text, out ulong whole));
        Assert.Equal((ulong)bps, whole);
    }

    [Theory]
    [InlineData("0.5")]
    [InlineData("0g")]
    [InlineData("fast")]
    [InlineData("10GB")]
    [InlineData("99999999999999999999999t")]
    public void WholeLinkSpeeds_RejectWhatIsNoSpeed(string text) => Assert.False(RateText.TryParseLinkSpeed(text, out ulong _));
}
