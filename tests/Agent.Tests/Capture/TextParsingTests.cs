using Millisampler.Agent.Bpf;

namespace Millisampler.Agent.Tests.Capture;

public sealed class TextParsingTests
{
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
