using System.Net;
using Xunit.Abstractions;

namespace Millisampler.Lab.Tests.Traffic;

[Collection(LabCollection.Name)]
public sealed class TrafficTests(ITestOutputHelper output)
{
    private const long MaxLatenessNs = 50_000_000;

    [Fact]
    public async Task BulkSender_ReportsTcpInfoSums()
    {
        await using var rack = await RackTopology.Create().WithPrefix(LabCollection.Prefix).WithHosts(1).WithSenders(1).BuildAsync();
        var host = rack.Hosts[0];
        await using var sink = TcpSink.Start(host.Namespace, new IPEndPoint(host.Address, 5001));
        const long payload = 8_000_000;

        var r = await TcpBulkSender.RunAsync(new TcpBulkOptions
        {
            Namespace = rack.Senders[0].Namespace,
            Target = sink.LocalEndPoint,
            Connections = 4,
            TotalBytes = payload,
        });
        output.WriteLine($"{r.Totals} in {r.Elapsed.TotalMilliseconds:0} ms");

        Assert.False(r.TimedOut);
        Assert.Equal(payload, r.BytesWritten);
        Assert.Equal(4, r.Totals.Connections);
        Assert.True(r.Totals.BytesSent >= payload, $"bytes_sent {r.Totals.BytesSent}");
        Assert.True(r.Totals.BytesSent <= payload + r.Totals.BytesRetrans + 4, "bytes_sent counts payload and retransmissions only");
        Assert.True(r.Totals.DataSegsOut > 0 && r.Totals.SegsOut >= r.Totals.DataSegsOut);
        Assert.True(r.Totals.MeanRttUs > 0);
        // bytes_acked sits 80 bytes before bytes_sent: an independent check of the offsets.
        Assert.All(r.PerConnection, i => Assert.InRange((long)i.BytesAcked, payload / 4, (payload / 4) + 2));
        Assert.All(r.PerConnection, i => Assert.Contains(i.State, new byte[] { 5, 6, 7 }));
    }

    [Fact]
    public async Task TorTbf_LimitsThroughputNearItsRate()
    {
        const long rate = 200_000_000;
        await using var rack = await RackTopology.Create().WithPrefix(LabCollection.Prefix).WithHosts(2)
            .WithTorShaping(new TbfOptions(rate, 32 * 1024, LimitBytes: 128 * 1024)).BuildAsync();
        var (receiver, sender) = (rack.Hosts[0], rack.Hosts[1]);
        await using var sink = TcpSink.Start(receiver.Namespace, new IPEndPoint(receiver.Address, 5001));

        var r = await TcpBulkSender.RunAsync(new TcpBulkOptions
        {
            Namespace = sender.Namespace,
            Target = sink.LocalEndPoint,
            Connections = 2,
            Duration = TimeSpan.FromSeconds(1.5),
        });
        output.WriteLine($"goodput {r.GoodputBitsPerSecond / 1e6:0.0} Mbit/s through a {rate / 1e6:0} Mbit/s tbf; retrans {r.Totals.TotalRetrans}");

        // Goodput excludes headers (1448 of 1514 bytes per frame), so it sits just under the rate; never above it: that
        // upper bound is what this test is about. Below, slow start and the losses of two connections at a 128 KiB limit
        // take their share of a 1.5 s run, more on a loaded machine (the full suite saw 0.71 x with 3,877 retransmissions
        // and 0.39 x with 2,781): the lower bound only says traffic does flow through the shaped ToR.
        Assert.InRange(r.GoodputBitsPerSecond, rate * 0.25, rate * 1.02);
    }

    [Fact]
    public async Task NftRandomDrop_CausesRetransmissions()
    {
        await using var rack = await RackTopology.Create().WithPrefix(LabCollection.Prefix).WithHosts(1).WithSenders(1).WithTorShaping(null).BuildAsync();
        var (host, sender) = (rack.Hosts[0], rack.Senders[0]);
        await using var sink = TcpSink.Start(host.Namespace, new IPEndPoint(host.Address, 5001));
        // With TSO/GSO a dropped skb is a 64 KiB aggregate and 2% of a few hundred of them may be none;
        // wire-sized segments make the loss per packet.
        await rack.Lab.SetOffloadsAsync(sender.Namespace, sender.Interface, new Dictionary<string, bool> { ["tso"] = false, ["gso"] = false });
        var drop = await rack.Lab.AddRandomDropAsync(rack.RouterNamespace, perMille: 20, inputInterface: sender.RouterPort);

        var before = NetStats.ReadTcp(sender.Namespace);
        var r = await TcpBulkSender.RunAsync(new TcpBulkOptions { Namespace = sender.Namespace, Target = sink.LocalEndPoint, TotalBytes = 10_000_000 });
        var delta = NetStats.ReadTcp(sender.Namespace).Minus(before);
        var dropped = await rack.Lab.GetNftPacketCountAsync(drop);
        output.WriteLine($"nft dropped {dropped}, RetransSegs +{delta.RetransSegs}, tcpi_total_retrans {r.Totals.TotalRetrans}, tcpi_bytes_retrans {r.Totals.BytesRetrans}");

        Assert.Equal(10_000_000, sink.BytesReceived);
        Assert.True(dropped > 0);
        Assert.True(delta.RetransSegs > 0);
        Assert.True(r.Totals.TotalRetrans > 0);
        Assert.True(r.Totals.BytesRetrans > 0);

        await rack.Lab.RemoveNftRuleAsync(drop);
        var rules = await rack.Lab.ExecAsync(rack.RouterNamespace, "nft", "list", "ruleset");
        Assert.DoesNotContain(drop.Table, rules.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NftEcnMark_IsEchoedToTheSender()
    {
        await using var rack = await RackTopology.Create().WithPrefix(LabCollection.Prefix).WithHosts(1).WithSenders(1)
            .WithTorShaping(null).WithSysctl("net.ipv4.tcp_ecn", "1").BuildAsync();
        var (host, sender) = (rack.Hosts[0], rack.Senders[0]);
        await using var sink = TcpSink.Start(host.Namespace, new IPEndPoint(host.Address, 5001));
        var mark = await rack.Lab.AddRandomEcnMarkAsync(rack.RouterNamespace, perMille: 50, inputInterface: sender.RouterPort);

        var before = NetStats.ReadTcp(sender.Namespace);
        var r = await TcpBulkSender.RunAsync(new TcpBulkOptions { Namespace = sender.Namespace, Target = sink.LocalEndPoint, TotalBytes = 10_000_000 });
        var delta = NetStats.ReadTcp(sender.Namespace).Minus(before);
        var marked = await rack.Lab.GetNftPacketCountAsync(mark);
        output.WriteLine($"nft marked {marked}, TCPDeliveredCE +{delta.TcpExt.GetValueOrDefault("TCPDeliveredCE")}, tcpi_delivered_ce {r.Totals.DeliveredCe}");

        Assert.Equal(10_000_000, sink.BytesReceived);
        Assert.True(marked > 0);
        Assert.True(r.Totals.DeliveredCe > 0);
        Assert.True(delta.TcpExt.GetValueOrDefault("TCPDeliveredCE") > 0);
    }

    [Fact]
    public async Task ConnectionHolder_EstablishesExactlyOneThousand()
    {
        await using var rack = await RackTopology.Create().WithPrefix(LabCollection.Prefix).WithHosts(2).WithTorShaping(null).BuildAsync();
        var (server, client) = (rack.Hosts[0], rack.Hosts[1]);
        await using var sink = TcpSink.Start(server.Namespace, new IPEndPoint(server.Address, 5001));
        // Each message costs the sending thread the whole path (TCP, veth, bridge, the receiver's stack):
        // on 2 cores a sweep over 1000 connections takes 10-20 ms, so hold a 100 ms period.
        var period = TimeSpan.FromMilliseconds(100);

        await using var holder = await ConnectionHolder.StartAsync(new ConnectionHolderOptions
        {
            Namespace = client.Namespace,
            Target = sink.LocalEndPoint,
            Connections = 1000,
            Period = period,
            Duration = TimeSpan.FromSeconds(1),
        });
        Assert.Equal(1000, holder.Established);
        await sink.WaitForOpenConnectionsAsync(1000, TimeSpan.FromSeconds(10));
        var r = await holder.Completion;
        output.WriteLine($"{r.Established} connections, {r.MessagesSent} messages, max gap {r.MaxSendGap.TotalMilliseconds:0.0} ms, errors {r.SendErrors}");

        Assert.Equal(1000, r.Established);
        Assert.Equal(1000, sink.ConnectionsAccepted);
        Assert.Empty(r.ConnectErrors);
        // Sweeps start every half period, so on an idle machine the gap stays under the period; when
        // other work shares the 2 cores the sending thread can be off the CPU for tens of ms.
        Assert.True(r.MaxSendGap < period * 3, $"max gap {r.MaxSendGap}");
        Assert.True(r.MessagesSent >= 1000 * 10, $"{r.MessagesSent} messages");
    }

    [Fact]
    public async Task UdpBurst_StartsAllSendersAtTheInstant()
    {
        await using var rack = await RackTopology.Create().WithPrefix(LabCollection.Prefix).WithHosts(1).WithSenders(3).BuildAsync();
        var host = rack.Hosts[0];
        await using var sink = UdpSink.Start(host.Namespace, new IPEndPoint(host.Address, 5002));
        var start = TaiClock.FromNow(TimeSpan.FromMilliseconds(300));

        var r = await UdpBurst.RunAsync(rack.Senders.Select(s => new BurstSender(s.Namespace, 1_000_000)).ToList(), sink.LocalEndPoint, start);
        await Task.Delay(200);
        output.WriteLine($"lateness {r.MaxStartLatenessNs / 1000.0:0} µs, sent {r.BytesSent}, received {sink.BytesReceived} in {sink.DatagramsReceived} datagrams, duration {r.Duration.TotalMilliseconds:0.0} ms");

        Assert.All(r.Senders, s => Assert.True(s.StartedTaiNs >= start));
        // Lateness is scheduling: µs on an idle machine, milliseconds when other builds share the 2 cores.
        Assert.True(r.MaxStartLatenessNs < MaxLatenessNs, $"{r.MaxStartLatenessNs} ns late");
        Assert.True(sink.DatagramsReceived >= sink.BytesReceived / 1400);
        Assert.Equal(3_000_000, r.BytesSent);
        Assert.InRange(sink.BytesReceived, 1, 3_000_000);
    }

    [Fact]
    public async Task TcpIncast_DeliversEveryByte_FromAllSenders()
    {
        await using var rack = await RackTopology.Create().WithPrefix(LabCollection.Prefix).WithHosts(1).WithSenders(3).BuildAsync();
        var host = rack.Hosts[0];
        await using var sink = TcpSink.Start(host.Namespace, new IPEndPoint(host.Address, 5001));
        var start = TaiClock.FromNow(TimeSpan.FromMilliseconds(300));

        var r = await TcpIncast.RunAsync(rack.Senders.Select(s => new BurstSender(s.Namespace, 500_000, Connections: 2)).ToList(), sink.LocalEndPoint, start);
        output.WriteLine($"lateness {r.MaxStartLatenessNs / 1000.0:0} µs, duration {r.Duration.TotalMilliseconds:0.0} ms, retrans {r.Senders.Sum(s => s.Tcp!.TotalRetrans)}");

        Assert.Equal(3_000_000, r.BytesSent);
        Assert.Equal(3_000_000, sink.BytesReceived);
        Assert.True(r.MaxStartLatenessNs < MaxLatenessNs, $"{r.MaxStartLatenessNs} ns late");
        Assert.All(r.Senders, s => Assert.True(s.CompletedTaiNs >= s.StartedTaiNs && s.Tcp!.BytesSent >= 1_000_000));
        // 3 MB through a 1 Gbit/s port takes at least 24 ms.
        Assert.True(r.Duration >= TimeSpan.FromMilliseconds(20), $"{r.Duration}");
    }

    [Fact]
    public void TaiClock_AdvancesAndSleepsUntilTheInstant()
    {
        var target = TaiClock.FromNow(TimeSpan.FromMilliseconds(20));
        var woke = TaiClock.SleepUntil(target);
        output.WriteLine($"woke {(woke - target) / 1000.0:0.0} µs after the instant");
        Assert.InRange(woke - target, 0, MaxLatenessNs);
    }
}
