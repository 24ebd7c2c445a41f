using System.Net;
using Millisampler.Contracts.V1;
using Millisampler.Lab;

namespace Millisampler.Agent.Tests.Kernel;

/// <summary>What one run leaves behind for the next.</summary>
[Collection(KernelCollection.Name)]
public sealed class RecorderTests
{
    [Fact]
    public async Task CutShortRun_KeepsWholeBins_AndLeavesNoCountsForTheNextRun()
    {
        await using var net = await PairNetwork.CreateAsync();
        using var sampler = Sampler.Open(net.Rx, PairNetwork.If);
        await using var sink = UdpSink.Start(net.Rx, new IPEndPoint(PairNetwork.RxAddress, 5001));
        using var stop = new CancellationTokenSource();

        // Traffic throughout; the run is stopped in the middle of it.
        long start = TaiClock.FromNow(TimeSpan.FromMilliseconds(200));
        var traffic = Task.Run(async () =>
        {
            for (int i = 0; i < 40; i++)
            {
                await UdpBurst.RunAsync([new BurstSender(net.Tx, 20_000)], new IPEndPoint(PairNetwork.RxAddress, 5001), start + i * 10_000_000L, 1000);
            }
        });
        var cut = Sampler.RecordAsync(sampler, start, 10_000_000, 100, stop.Token);
        TaiClock.SleepUntil(start + 205_000_000);
        stop.Cancel();
        Run first = await cut;
        await traffic;

        Assert.Equal(RunStatus.CutShort, first.Status);
        Assert.InRange(first.BinsRecorded, 19u, 22u);
        Assert.Equal((int)first.BinsRecorded, first.Series.IngressBytes.Count);
        Assert.True(first.Series.IngressBytes.Sum() > 300_000);

        // Nothing is sent now: a second run over the same bins must read zero everywhere.
        long quiet = TaiClock.FromNow(TimeSpan.FromMilliseconds(100));
        Run second = await Sampler.RecordAsync(sampler, quiet, 10_000_000, 100);
        Assert.Equal(0UL, second.Series.IngressBytes.Sum());
        Assert.Equal(0UL, second.Series.IngressPackets.Sum());
        Assert.All(second.Series.Connections, c => Assert.Equal(0u, c));
    }
}
