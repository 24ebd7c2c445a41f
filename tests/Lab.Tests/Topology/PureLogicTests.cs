namespace Millisampler.Lab.Tests.Topology;

public sealed class PureLogicTests
{
    [Fact]
    public void Tbf_ToTcArguments_UsesBitsAndBytes()
    {
        var args = new TbfOptions(200_000_000, 32_768, LimitBytes: 131_072).ToTcArguments();
        Assert.Equal(["tbf", "rate", "200000000bit", "burst", "32768b", "limit", "131072b"], args);
        var latency = new TbfOptions(1_000_000, 4_000, Latency: TimeSpan.FromMilliseconds(5)).ToTcArguments();
        Assert.Equal(["tbf", "rate", "1000000bit", "burst", "4000b", "latency", "5000us"], latency);
    }

    [Fact]
    public void Tbf_Validate_RejectsBothOrNeitherLimit()
    {
        Assert.Throws<ArgumentException>(() => new TbfOptions(1_000_000, 4_000).Validate());
        Assert.Throws<ArgumentException>(() => new TbfOptions(1_000_000, 4_000, 10_000, TimeSpan.FromMilliseconds(1)).Validate());
        Assert.Throws<ArgumentException>(() => new TbfOptions(1_000_000, 100, 10_000).Validate());
    }

    [Theory]
    [InlineData("ms-1234r0a-h1", 1234)]
    [InlineData("ms-lt-77r ff-h1", null)]
    [InlineData("ms-lt-77rff-h1", 77)]
    [InlineData("ms-lt-77r0a1b-h1", 77)]
    [InlineData("ms-manual", null)]
    public void OwnerPid_ParsesLabNames(string ns, int? pid) => Assert.Equal(pid, LabNames.OwnerPid(ns));

    [Fact]
    public void InterfaceNames_LongerThan15_AreRejected()
    {
        LabNames.ValidateInterface("abcdefghijklmno");
        Assert.Throws<ArgumentException>(() => LabNames.ValidateInterface("abcdefghijklmnop"));
        Assert.Throws<ArgumentException>(() => LabNames.ValidateInterface("a/b"));
    }

    [Fact]
    public void AddressPlan_HostsAndSenders()
    {
        Assert.Equal("198.18.0.11", AddressPlan.Host(1).ToString());
        Assert.Equal("198.18.0.210", AddressPlan.Host(200).ToString());
        Assert.Equal("198.19.7.2", AddressPlan.Sender(7).ToString());
        Assert.Throws<ArgumentOutOfRangeException>(() => AddressPlan.Host(201));
    }

    [Fact]
    public void BulkSplit_SpreadsRemainder()
    {
        Assert.Equal([4L, 3L, 3L], TcpBulkSender.Split(10, 3));
    }
}
