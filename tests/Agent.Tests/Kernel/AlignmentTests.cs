using System.Net;
using Millisampler.Lab;
using Xunit.Abstractions;

namespace Millisampler.Agent.Tests.Kernel;

/// <summary>Two hosts armed with one start instant put one simultaneous burst into the same bin.</summary>
[Collection(KernelCollection.Name)]
public sealed class AlignmentTests(ITestOutputHelper output)
{
    private const long BinNs = 20_000_000;

    [Fact]
    public async Task SimultaneousBurst_LandsInTheSameBin_OnTwoHosts_TaiAndMappedMonotonicClocks()
    {
        await using var net = await RoutedNetwork.CreateAsync(3);
        string sender = net.Leaves[0];
        using var a = Sampler.Open(net.Leaves[1], RoutedNetwork.If);
        using var b = Sampler.Open(net.Leaves[2], RoutedNetwork.If, o => o with { Load = o.Load with { ForceMonotonicClock = true } });
        Assert.Equal(Contracts.V1.ClockSource.Tai, a.Clock);
        Assert.Equal(Contracts.V1.ClockSource.MonotonicMapped, b.Clock);
        await using var sinkA = UdpSink.Start(net.Leaves[1], new IPEndPoint(RoutedNetwork.Address(1), 6000));
        await using var sinkB = UdpSink.Start(net.Leaves[2], new IPEndPoint(RoutedNetwork.Address(2), 6000));

        long start = TaiClock.FromNow(TimeSpan.FromMilliseconds(300));
        var runA = Sampler.RecordAsync(a, start, BinNs, 20);
        var runB = Sampler.RecordAsync(b, start, BinNs, 20);
        // 6 ms into bin 4 of 20 ms: a sender up to 14 ms late on a loaded machine still lands in it.
        long burstAt = start + 4 * BinNs + 6_000_000;
        var senders = new[] { new BurstSender(sender, 150_000) };
        var bursts = await Task.WhenAll(
            UdpBurst.RunAsync(senders, new IPEndPoint(RoutedNetwork.Address(1), 6000), burstAt),
            UdpBurst.RunAsync(senders, new IPEndPoint(RoutedNetwork.Address(2), 6000), burstAt));
        var ra = await runA;
        var rb = await runB;
        output.WriteLine($"lateness {bursts[0].MaxStartLatenessNs / 1000} us / {bursts[1].MaxStartLatenessNs / 1000} us; durations {bursts[0].Duration} {bursts[1].Duration}");
        output.WriteLine("a: " + string.Join(' ', ra.Series.IngressBytes));
        output.WriteLine("b: " + string.Join(' ', rb.Series.IngressBytes));

        int firstA = ra.Series.IngressBytes.ToList().FindIndex(v => v > 0);
        int firstB = rb.Series.IngressBytes.ToList().FindIndex(v => v > 0);
        Assert.Equal(4, firstA);
        Assert.Equal(4, firstB);
        // The bulk of each burst is in that bin on both hosts.
        Assert.True(ra.Series.IngressBytes[4] > 0.6 * ra.Series.IngressBytes.Sum());
        Assert.True(rb.Series.IngressBytes[4] > 0.6 * rb.Series.IngressBytes.Sum());
    }
}
