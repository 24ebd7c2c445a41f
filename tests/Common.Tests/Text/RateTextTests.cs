using Millisampler.Common.Text;

namespace Millisampler.Common.Tests.Text;

public class RateTextTests
{
    [Theory]
    [InlineData("10g", 10e9)]
    [InlineData("25g", 25e9)]
    [InlineData("25G", 25e9)]
    [InlineData("12.5g", 12.5e9)]
    [InlineData("100m", 100e6)]
    [InlineData("1k", 1e3)]
    [InlineData("1t", 1e12)]
    [InlineData("1000000", 1e6)]
    [InlineData("10gbit", 10e9)]
    [InlineData("10gbps", 10e9)]
    [InlineData("10Gbit/s", 10e9)]
    [InlineData("100 m", 100e6)]
    public void TryParseBitsPerSecond_RatesEngineersType_GivesBitsPerSecond(string text, double expected)
    {
        Assert.True(RateText.TryParseBitsPerSecond(text, out double bps));
        Assert.Equal(expected, bps);
    }

    [Theory]
    [InlineData("fast")]
    [InlineData("")]
    [InlineData(null)]
    [InlineData("0g")]
    [InlineData("-10g")]
    [InlineData("g")]
    [InlineData("10x")]
    [InlineData("bit")]
    public void TryParseBitsPerSecond_NotARate_IsRejected(string? text)
    {
        Assert.False(RateText.TryParseBitsPerSecond(text, out _));
    }

    [Theory]
    [InlineData(25e9, "25 Gbit/s")]
    [InlineData(12.5e9, "12.5 Gbit/s")]
    [InlineData(100e6, "100 Mbit/s")]
    [InlineData(61.234e9, "61.2 Gbit/s")]
    [InlineData(1.5e12, "1.5 Tbit/s")]
    [InlineData(800, "800 bit/s")]
    public void Format_ThreeSignificantDigits(double bps, string expected)
    {
        Assert.Equal(expected, RateText.Format(bps));
    }
}
