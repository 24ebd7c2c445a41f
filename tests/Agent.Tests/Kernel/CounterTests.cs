using System.Net;
using Millisampler.Lab;
using Xunit.Abstractions;

namespace Millisampler.Agent.Tests.Kernel;

/// <summary>Bytes and packets against the interface counters and the kernel's TCP counters.</summary>
[Collection(KernelCollection.Name)]
public sealed class CounterTests(ITestOutputHelper output)
{
    private const long BinNs = 10_000_000;

    [Fact]
    public async Task BytesAndPackets_EqualInterfaceCounterDeltas_BothDirectionsBothHosts()
    {
        await using var net = await PairNetwork.CreateAsync(offloads: false);
        using var txSampler = Sampler.Open(net.Tx, PairNetwork.If);
        using var rxSampler = Sampler.Open(net.Rx, PairNetwork.If);
        await using var udp = UdpSink.Start(net.Rx, new IPEndPoint(PairNetwork.RxAddress, 5001));
        await using var tcp = TcpSink.Start(net.Rx, new IPEndPoint(PairNetwork.RxAddress, 5002));

        long start = TaiClock.FromNow(TimeSpan.FromMilliseconds(300));
        const uint bins = 300; // 3 s
        var txBefore = NetStats.ReadInterface(net.Tx, PairNetwork.If);
        var rxBefore = NetStats.ReadInterface(net.Rx, PairNetwork.If);
        var txRun = Sampler.RecordAsync(txSampler, start, BinNs, bins);
        var rxRun = Sampler.RecordAsync(rxSampler, start, BinNs, bins);

        // All traffic, handshakes and closes included, lies well inside the window.
        TaiClock.SleepUntil(start + 200_000_000);
        await UdpBurst.RunAsync([new BurstSender(net.Tx, 3_000_000)], new IPEndPoint(PairNetwork.RxAddress, 5001), TaiClock.NowNs(), datagramBytes: 1200);
        var bulk = await TcpBulkSender.RunAsync(new TcpBulkOptions { Namespace = net.Tx, Target = new IPEndPoint(PairNetwork.RxAddress, 5002), TotalBytes = 20_000_000, Connections = 2 });
        Assert.True(TaiClock.NowNs() < start + bins * BinNs - 500_000_000, "traffic ran past the window; the test needs a longer run");

        var tx = await txRun;
        var rx = await rxRun;
        var txDelta = NetStats.ReadInterface(net.Tx, PairNetwork.If).Minus(txBefore);
        var rxDelta = NetStats.ReadInterface(net.Rx, PairNetwork.If).Minus(rxBefore);

        output.WriteLine($"tx if {txDelta} | rx if {rxDelta}");
        output.WriteLine($"tx sampler out {tx.Series.EgressBytes.Sum()}/{tx.Series.EgressPackets.Sum()} in {tx.Series.IngressBytes.Sum()}/{tx.Series.IngressPackets.Sum()} stats {txSampler.ReadStats().ArmedEarly} {txSampler.ReadStats().ArmedLate} {txSampler.ReadStats().NotParsed}");
        output.WriteLine($"rx sampler out {rx.Series.EgressBytes.Sum()}/{rx.Series.EgressPackets.Sum()} in {rx.Series.IngressBytes.Sum()}/{rx.Series.IngressPackets.Sum()} stats {rxSampler.ReadStats().ArmedEarly} {rxSampler.ReadStats().ArmedLate}");
        Assert.True(bulk.BytesWritten >= 20_000_000);
        Assert.True(txDelta.TxBytes > 23_000_000, $"too little traffic: {txDelta.TxBytes}");
        Assert.Equal((ulong)txDelta.TxBytes, tx.Series.EgressBytes.Sum());
        Assert.Equal((ulong)txDelta.TxPackets, tx.Series.EgressPackets.Sum());
        Assert.Equal((ulong)txDelta.RxBytes, tx.Series.IngressBytes.Sum());
        Assert.Equal((ulong)txDelta.RxPackets, tx.Series.IngressPackets.Sum());
        Assert.Equal((ulong)rxDelta.RxBytes, rx.Series.IngressBytes.Sum());
        Assert.Equal((ulong)rxDelta.RxPackets, rx.Series.IngressPackets.Sum());
        Assert.Equal((ulong)rxDelta.TxBytes, rx.Series.EgressBytes.Sum());
        Assert.Equal((ulong)rxDelta.TxPackets, rx.Series.EgressPackets.Sum());
    }

    [Fact]
    public async Task GsoSuperPackets_CountAsTheirSegments_MatchingTcpOutSegs()
    {
        await using var net = await PairNetwork.CreateAsync(offloads: true);
        using var txSampler = Sampler.Open(net.Tx, PairNetwork.If);
        using var rxSampler = Sampler.Open(net.Rx, PairNetwork.If);
        await using var tcp = TcpSink.Start(net.Rx, new IPEndPoint(PairNetwork.RxAddress, 5002));

        long start = TaiClock.FromNow(TimeSpan.FromMilliseconds(300));
        const uint bins = 300;
        var txIf = NetStats.ReadInterface(net.Tx, PairNetwork.If);
        var txTcp = NetStats.ReadTcp(net.Tx);
        var txRun = Sampler.RecordAsync(txSampler, start, BinNs, bins);
        var rxRun = Sampler.RecordAsync(rxSampler, start, BinNs, bins);

        TaiClock.SleepUntil(start + 200_000_000);
        await TcpBulkSender.RunAsync(new TcpBulkOptions { Namespace = net.Tx, Target = new IPEndPoint(PairNetwork.RxAddress, 5002), TotalBytes = 50_000_000 });

        var tx = await txRun;
        var rx = await rxRun;
        var ifDelta = NetStats.ReadInterface(net.Tx, PairNetwork.If).Minus(txIf);
        var tcpDelta = NetStats.ReadTcp(net.Tx).Minus(txTcp);

        // veth with TSO passes a super-packet on whole and counts it once, with one set of headers.
        // TCP counts segments: OutSegs those that advance snd_nxt (and pure ACKs), RetransSegs the
        // ones sent again (the kernel adds a retransmission to RetransSegs only); we count every
        // segment. On the wire each extra segment repeats Ethernet (14) + IPv4 (20) + TCP with
        // timestamps (32) = 66 bytes of headers.
        long segments = tcpDelta.OutSegs + tcpDelta.RetransSegs;
        Assert.True(ifDelta.TxPackets < segments, $"expected GSO: {ifDelta.TxPackets} frames for {segments} segments");
        Assert.Equal((ulong)segments, tx.Series.EgressPackets.Sum());
        Assert.Equal((ulong)(ifDelta.TxBytes + (segments - ifDelta.TxPackets) * 66), tx.Series.EgressBytes.Sum());
        Assert.Equal(tx.Series.EgressPackets.Sum(), rx.Series.IngressPackets.Sum());
        Assert.Equal(tx.Series.EgressBytes.Sum(), rx.Series.IngressBytes.Sum());
    }
}
