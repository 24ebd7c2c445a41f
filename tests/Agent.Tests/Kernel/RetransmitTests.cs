using System.Net;
using Millisampler.Lab;
using Xunit.Abstractions;

namespace Millisampler.Agent.Tests.Kernel;

/// <summary>Retransmitted bytes against the sender's TCP state under real loss.</summary>
[Collection(KernelCollection.Name)]
public sealed class RetransmitTests(ITestOutputHelper output)
{
    [Fact]
    public async Task RetransmitBytes_UnderRandomLoss_MatchSenderTcpInfo()
    {
        // h0 sends to h1 through the router, which drops 2% of the packets toward h1.
        await using var net = await RoutedNetwork.CreateAsync(2, offloads: false);
        string tx = net.Leaves[0], rx = net.Leaves[1];
        await net.Lab.AddRandomDropAsync(net.Router, perMille: 20, outputInterface: RoutedNetwork.RouterPort(1));
        using var txSampler = Sampler.Open(tx, RoutedNetwork.If);
        using var rxSampler = Sampler.Open(rx, RoutedNetwork.If);
        await using var sink = TcpSink.Start(rx, new IPEndPoint(RoutedNetwork.Address(1), 5002));

        long start = TaiClock.FromNow(TimeSpan.FromMilliseconds(300));
        const uint bins = 800; // 8 s of 10 ms
        var txRun = Sampler.RecordAsync(txSampler, start, 10_000_000, bins);
        var rxRun = Sampler.RecordAsync(rxSampler, start, 10_000_000, bins);
        TaiClock.SleepUntil(start + 100_000_000);
        var bulk = await TcpBulkSender.RunAsync(new TcpBulkOptions
        {
            Namespace = tx,
            Target = new IPEndPoint(RoutedNetwork.Address(1), 5002),
            Connections = 4,
            Duration = TimeSpan.FromSeconds(4),
        });
        Assert.True(TaiClock.NowNs() < start + bins * 10_000_000L - 1_000_000_000, "transfer ran past the window");
        var txResult = await txRun;
        var rxResult = await rxRun;

        long truth = bulk.Totals.BytesRetrans;
        ulong egress = txResult.Series.EgressRetransmitBytes.Sum();
        ulong ingress = rxResult.Series.IngressRetransmitBytes.Sum();
        output.WriteLine($"tcpi_bytes_retrans {truth}, egress {egress}, receiver ingress {ingress}, sent {bulk.BytesWritten}");
        Assert.True(truth > 200_000, $"too little loss to judge: {truth} bytes retransmitted");
        Assert.InRange((double)egress, truth * 0.95, truth * 1.05);
        Assert.InRange((double)ingress, truth * 0.90, truth * 1.10);
        // No loss on the way back: the receiver sends nothing twice.
        Assert.Equal(0UL, rxResult.Series.EgressRetransmitBytes.Sum());
    }
}
