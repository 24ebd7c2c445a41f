using System.Net;
using Millisampler.Lab;
using Xunit.Abstractions;

namespace Millisampler.Agent.Tests.Kernel;

/// <summary>Active-connection estimates against a known number of open connections.</summary>
[Collection(KernelCollection.Name)]
public sealed class ConnectionTests(ITestOutputHelper output)
{
    private const long BinNs = 250_000_000;

    [Fact]
    public async Task ConnectionEstimates_1To2000Concurrent_EachWithin10Percent()
    {
        await using var net = await PairNetwork.CreateAsync();
        using var txSampler = Sampler.Open(net.Tx, PairNetwork.If);
        await using var sink = TcpSink.Start(net.Rx, new IPEndPoint(PairNetwork.RxAddress, 5003), backlog: 4096);
        foreach (int n in new[] { 1, 10, 100, 1000, 2000 })
        {
            // Every connection sends every 100 ms, so each is active in every 250 ms bin.
            await using var holder = await ConnectionHolder.StartAsync(new ConnectionHolderOptions
            {
                Namespace = net.Tx,
                Target = new IPEndPoint(PairNetwork.RxAddress, 5003),
                Connections = n,
                Period = TimeSpan.FromMilliseconds(100),
                Duration = TimeSpan.FromSeconds(3),
            });
            Assert.Equal(n, holder.Established);
            long start = TaiClock.FromNow(TimeSpan.FromMilliseconds(200));
            var run = await Sampler.RecordAsync(txSampler, start, BinNs, 8);
            // The edge bins may hold connections closing from the previous round; judge the middle.
            for (int b = 1; b < 7; b++)
            {
                uint outC = run.Series.EgressConnections[b], inC = run.Series.IngressConnections[b], all = run.Series.Connections[b];
                output.WriteLine($"n={n} bin {b}: egress {outC} ingress {inC} either {all}");
                Assert.InRange(outC, n * 0.9, n * 1.1);
                Assert.InRange(inC, n * 0.9, n * 1.1);
                Assert.InRange(all, n * 0.9, n * 1.1);
            }
            Assert.Equal(0u, run.SaturatedSketchBins);
        }
    }
}
