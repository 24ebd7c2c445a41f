using Millisampler.Contracts.V1;

namespace Millisampler.Analysis.Tests;

public sealed class HostAdmissionTests
{
    [Theory]
    [InlineData(0, 1_000_000, true)]
    [InlineData(500_000, 1_000_000, true)]     // exactly half a bin
    [InlineData(500_001, 1_000_000, false)]
    [InlineData(-1, 1_000_000, false)]         // unknown
    [InlineData(long.MaxValue, long.MaxValue, false)]
    [InlineData(long.MaxValue / 2, long.MaxValue, true)]
    public void AlignmentTrusted_WithinHalfABin(long errorNs, long binWidthNs, bool trusted) =>
        Assert.Equal(trusted, HostAdmission.AlignmentTrusted(errorNs, binWidthNs));

    [Fact]
    public void LinkSpeed_IsTheSumOfTheKnownSpeeds()
    {
        InterfaceInfo[] interfaces =
        [
            new() { Name = "eth0", LinkSpeedBitsPerSecond = 25_000_000_000 },
            new() { Name = "eth1", LinkSpeedBitsPerSecond = 25_000_000_000 },
            new() { Name = "veth0" },
        ];
        Assert.Equal(50_000_000_000UL, HostAdmission.LinkSpeedBitsPerSecond(interfaces));
        Assert.Equal(0UL, HostAdmission.LinkSpeedBitsPerSecond([]));
    }
}
