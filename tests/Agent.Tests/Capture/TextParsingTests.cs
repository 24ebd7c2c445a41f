using Millisampler.Agent.Bpf;
using Millisampler.Agent.Capture;

namespace Millisampler.Agent.Tests.Capture;

public sealed class TextParsingTests
{
    [Theory]
    [InlineData("100us", 100_000)]
    [InlineData("1ms", 1_000_000)]
    [InlineData("10ms", 10_000_000)]
    [InlineData("1.5s", 1_500_000_000)]
    [InlineData("250ns", 250)]
    public void Duration_Parses(string text, long ns)
    {
        Assert.True(DurationText.TryParseNs(text, out long parsed));
        Assert.Equal(ns, parsed);
        Assert.True(DurationText.TryParseNs(DurationText.Format(ns), out long again));
        Assert.Equal(ns, again);
    }

    [Theory]
    [InlineData("")]
    [InlineData("10")]
    [InlineData("-1ms")]
    [InlineData("0ms")]
    [InlineData("1.5ns")]
    [InlineData("3x")]
    public void Duration_RejectsNonsense(string text) => Assert.False(DurationText.TryParseNs(text, out _));

    [Theory]
    [InlineData("10g", 10_000_000_000UL)]
    [InlineData("25G", 25_000_000_000UL)]
    [InlineData("100m", 100_000_000UL)]
    [InlineData("12.5g", 12_500_000_000UL)]
    public void LinkSpeed_Parses(string text, ulong bps)
    {
        Assert.True(LinkSpeedText.TryParse(text, out var parsed));
        Assert.Equal(bps, parsed);
    }

    [Theory]
    [InlineData("198.18.0.0/16=remote", 16, true)]
    [InlineData("2001:db8::/32=local", 32, false)]
    public void RegionPrefix_Parses(string text, int length, bool remote)
    {
        var p = RegionPrefix.Parse(text);
        Assert.Equal(length, p.PrefixLength);
        Assert.Equal(remote, p.CrossRegion);
    }

    [Theory]
    [InlineData("198.18.0.0/16")]
    [InlineData("198.18.0.0/33=remote")]
    [InlineData("nonsense/8=local")]
    [InlineData("198.18.0.0/16=elsewhere")]
    public void RegionPrefix_RejectsWithMessage(string text) =>
        Assert.Contains(text, Assert.Throws<FormatException>(() => RegionPrefix.Parse(text)).Message, StringComparison.Ordinal);
}
