using Millisampler.Common.Text;

namespace Millisampler.Common.Tests.Text;

public class SizeTextTests
{
    [Theory]
    [InlineData(0UL, "0 B")]
    [InlineData(999UL, "999 B")]
    [InlineData(1_230UL, "1.23 kB")]
    [InlineData(45_600_000UL, "45.6 MB")]
    [InlineData(9_000_000UL, "9 MB")]
    [InlineData(999_600UL, "1 MB")]
    [InlineData(123_000_000_000UL, "123 GB")]
    public void Bytes_DecimalUnits(ulong bytes, string expected)
    {
        Assert.Equal(expected, SizeText.Bytes(bytes));
    }

    [Theory]
    [InlineData(0, "0%")]
    [InlineData(1, "100%")]
    [InlineData(0.823, "82.3%")]
    [InlineData(0.0004, "0.04%")]
    [InlineData(1.5, "150%")]
    public void Percent_Readable(double fraction, string expected)
    {
        Assert.Equal(expected, SizeText.Percent(fraction));
    }
}
