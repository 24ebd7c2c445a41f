using System.Net;
using static Millisampler.Agent.Tests.Kernel.TestFrames;

namespace Millisampler.Agent.Tests.Kernel;

/// <summary>
/// The real program's header parser, one hand-built frame at a time through BPF_PROG_TEST_RUN:
/// which flow a packet lands in, what it counts, and what it does when a header is cut off.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class ParserTests
{
    private static readonly IPAddress Server6 = IPAddress.Parse("2001:db8:2::1");
    private static readonly IPAddress Client4 = IPAddress.Parse("198.18.0.1");
    private static readonly IPAddress Server4 = IPAddress.Parse("198.18.0.2");

    private static IPAddress Client6(int i) => IPAddress.Parse($"2001:db8:1::{i}");

    [Fact]
    public void TruncatedIpv6ExtensionHeader_EachPeerKeepsItsOwnFlowAndRegion()
    {
        using var sampler = TestRunSampler.Armed();
        sampler.AddPrefix("2001:db8:1::3/128=remote");
        // The hop-by-hop header announces 8 bytes, but the frame ends 2 bytes into it.
        var frames = Enumerable.Range(1, 4).Select(i => Ipv6(Client6(i), Server6, HopByHop, [Tcp, 0], payloadLength: 8)).ToList();
        foreach (var f in frames)
        {
            sampler.Ingress(f);
        }

        var flows = sampler.Flows();
        var bin = sampler.Bin();
        Assert.Equal(4UL, bin.InPackets);
        Assert.Equal((ulong)frames.Sum(f => f.Length), bin.InBytes);
        // Before the fix all four shared one all-zero entry, and no peer address reached the prefix list.
        Assert.Equal(4, flows.Count);
        Assert.All(flows, f => Assert.Equal(6, f.Family));
        for (int i = 1; i <= 4; i++)
        {
            Assert.Single(flows, f => f.Joins(Client6(i), Server6) && f.LowPort == 0 && f.HighPort == 0);
        }
        Assert.Equal((ulong)frames[2].Length, bin.InCrossRegionBytes);
        Assert.Equal(4, sampler.SketchBits());
        Assert.Equal(4UL, sampler.NotParsed());
    }

    [Fact]
    public void Ipv6ExtensionHeaders_AreWalkedToTheTransportPorts()
    {
        using var sampler = TestRunSampler.Armed();
        var rest = Concat(Extension(DestinationOptions, 8), Extension(Tcp, 16), TcpSegment(40000, 5201, 1000, 100));
        sampler.Egress(Ipv6(Client6(1), Server6, HopByHop, rest));

        var flow = Assert.Single(sampler.Flows());
        Assert.True(flow.Joins(Client6(1), Server6));
        Assert.Equal(Tcp, flow.Protocol);
        Assert.Equal(new[] { (ushort)5201, (ushort)40000 }, new[] { flow.LowPort, flow.HighPort }.Order());
        Assert.Equal(0UL, sampler.NotParsed());
    }

    [Fact]
    public void Ipv6LaterFragment_HasNoTransportHeader()
    {
        using var sampler = TestRunSampler.Armed();
        sampler.Ingress(Ipv6(Client6(1), Server6, Fragment, Concat(FragmentHeader(Tcp, offsetUnits: 100), new byte[64])));

        var flow = Assert.Single(sampler.Flows());
        Assert.Equal(NoNextHeader, flow.Protocol);
        Assert.Equal(0, flow.LowPort + flow.HighPort);
        Assert.Equal(0UL, sampler.NotParsed());
    }

    [Fact]
    public void VlanTaggedIpv4_TcpAndUdpPortsParsed()
    {
        using var sampler = TestRunSampler.Armed();
        sampler.Ingress(Ipv4(Client4, Server4, Tcp, TcpSegment(40001, 5201, 1, 0), vlan: 7));
        sampler.Ingress(Ipv4(Client4, Server4, Udp, UdpDatagram(40002, 4791, 32)));

        var flows = sampler.Flows();
        Assert.Equal(2, flows.Count);
        Assert.Single(flows, f => f.Protocol == Tcp && f.Joins(Client4, Server4) && f.LowPort + f.HighPort == 40001 + 5201);
        Assert.Single(flows, f => f.Protocol == Udp && f.Joins(Client4, Server4) && f.LowPort + f.HighPort == 40002 + 4791);
    }

    [Fact]
    public void TruncatedTcpHeader_FlowOfTheAddressesWithoutPorts()
    {
        using var sampler = TestRunSampler.Armed();
        var frame = Ipv4(Client4, Server4, Tcp, new byte[10]);
        sampler.Ingress(frame);

        var flow = Assert.Single(sampler.Flows());
        Assert.True(flow.Joins(Client4, Server4));
        Assert.Equal(0, flow.LowPort + flow.HighPort);
        Assert.Equal((ulong)frame.Length, sampler.Bin().InBytes);
        Assert.Equal(1UL, sampler.NotParsed());
    }

    [Fact]
    public void MalformedIpHeaderOrNotIp_CountedWithoutAFlow()
    {
        using var sampler = TestRunSampler.Armed();
        // (BPF_PROG_TEST_RUN refuses an IPv4 frame shorter than its header, so this one is malformed instead: IHL 4.)
        var cut = Ipv4(Client4, Server4, Tcp, TcpSegment(40000, 5201, 1, 0));
        cut[14] = 0x44;
        var arp = Arp();
        sampler.Ingress(cut);
        sampler.Ingress(arp);

        var bin = sampler.Bin();
        Assert.Empty(sampler.Flows());
        Assert.Equal(2UL, bin.InPackets);
        Assert.Equal((ulong)(cut.Length + arp.Length), bin.InBytes);
        Assert.Equal(1UL, sampler.NotParsed()); // the malformed IPv4 header; ARP is simply not IP
    }

    [Fact]
    public void CeMarkedIpv4_CountsCeBytesOnIngress()
    {
        using var sampler = TestRunSampler.Armed();
        var frame = Ipv4(Client4, Server4, Udp, UdpDatagram(40000, 4791, 100), tos: 3);
        sampler.Ingress(frame);
        sampler.Egress(frame);

        var bin = sampler.Bin();
        Assert.Equal((ulong)frame.Length, bin.InCeBytes);
        Assert.Equal((ulong)frame.Length, bin.OutBytes);
    }
}
