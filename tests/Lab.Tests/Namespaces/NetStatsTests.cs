using System.Net;
using Xunit.Abstractions;

namespace Millisampler.Lab.Tests.Namespaces;

[Collection(LabCollection.Name)]
public sealed class NetStatsTests(ITestOutputHelper output)
{
    [Fact]
    public async Task ThreadSelfNet_ShowsTheThreadsNamespace()
    {
        await using var lab = NetworkLab.Create(LabCollection.Prefix);
        var a = await lab.AddNamespaceAsync("a");
        Assert.True(NetStats.ThreadSelfNetFollowsNamespace(a));

        // A fresh namespace has only its loopback.
        var interfaces = NetStats.ReadInterfaces(a);
        Assert.Equal(["lo"], interfaces.Keys);
    }

    [Fact]
    public async Task Counters_DeltasMatchBytesSent()
    {
        await using var rack = await RackTopology.Create().WithPrefix(LabCollection.Prefix).WithHosts(1).WithSenders(1).WithTorShaping(null).BuildAsync();
        var host = rack.Hosts[0];
        var sender = rack.Senders[0];
        await using var sink = TcpSink.Start(host.Namespace, new IPEndPoint(host.Address, 5001));
        const long payload = 20_000_000;

        var hostBefore = NetStats.ReadInterface(host.Namespace, host.Interface);
        var senderBefore = NetStats.ReadInterface(sender.Namespace, sender.Interface);
        var tcpBefore = NetStats.ReadTcp(sender.Namespace);
        var result = await TcpBulkSender.RunAsync(new TcpBulkOptions { Namespace = sender.Namespace, Target = sink.LocalEndPoint, TotalBytes = payload });
        var hostDelta = NetStats.ReadInterface(host.Namespace, host.Interface).Minus(hostBefore);
        var senderDelta = NetStats.ReadInterface(sender.Namespace, sender.Interface).Minus(senderBefore);
        var tcpDelta = NetStats.ReadTcp(sender.Namespace).Minus(tcpBefore);
        output.WriteLine($"host rx {hostDelta.RxBytes} B / {hostDelta.RxPackets} pkts, sender tx {senderDelta.TxBytes} B, OutSegs {tcpDelta.OutSegs}, {result.GoodputBitsPerSecond / 1e9:0.00} Gbit/s");

        Assert.Equal(payload, result.BytesWritten);
        Assert.Equal(payload, sink.BytesReceived);
        // Frames carry headers on top of the payload; with TSO/GRO one skb holds many segments, so the overhead is small either way.
        Assert.InRange(hostDelta.RxBytes, payload, (long)(payload * 1.1));
        Assert.InRange(senderDelta.TxBytes, payload, (long)(payload * 1.1));
        Assert.True(tcpDelta.OutSegs > 0);
        Assert.True(hostDelta.TxPackets > 0, "ACKs flow back");
    }

    [Fact]
    public void ParseNetDev_ReadsRxAndTxColumns()
    {
        const string text = """
            Inter-|   Receive                                                |  Transmit
             face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
                lo:     100       2    0    0    0     0          0         0      100       2    0    0    0     0       0          0
              eth0: 1234567    1000    0    7    0     0          0         0   654321     900    0    3    0     0       0          0
            """;
        var c = NetStats.ParseNetDev(text)["eth0"];
        Assert.Equal(new InterfaceCounters("eth0", 1234567, 1000, 7, 654321, 900, 3), c);
    }

    [Fact]
    public void ParseSnmpSection_PairsNamesWithValues()
    {
        const string text = """
            Ip: Forwarding DefaultTTL
            Ip: 1 64
            Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens OutSegs RetransSegs
            Tcp: 1 200 120000 -1 5 1000 12
            """;
        var tcp = NetStats.ParseSnmpSection(text, "Tcp");
        Assert.Equal(-1, tcp["MaxConn"]);
        var counters = new TcpCounters(tcp, new Dictionary<string, long>());
        Assert.Equal(12, counters.RetransSegs);
        Assert.Equal(1000, counters.OutSegs);
    }
}
