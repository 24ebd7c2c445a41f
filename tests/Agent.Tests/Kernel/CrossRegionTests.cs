using System.Net;
using Millisampler.Agent.Bpf;
using Millisampler.Contracts.V1;
using Millisampler.Lab;
using Xunit.Abstractions;

namespace Millisampler.Agent.Tests.Kernel;

/// <summary>
/// Cross-region bytes: a peer behind a 20 ms + 20 ms delay line (a "remote region") against a
/// local peer, by the sockets' RTT, and with the prefix list overriding the RTT rule.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed class CrossRegionTests(ITestOutputHelper output)
{
    private const int Host = 0, Local = 1, Remote = 2;

    [Fact]
    public async Task RemotePeerTraffic_IsCrossRegion_LocalPeerTrafficIsNot_PrefixesOverride()
    {
        await using var net = await RoutedNetwork.CreateAsync(3);
        await using var delay = await DelayLine.StartAsync(net.Lab, net.Router, TimeSpan.FromMilliseconds(20),
        [
            new DelayRule(RoutedNetwork.RouterPort(Remote)),
            new DelayRule(RoutedNetwork.RouterPort(Host), Destination: "198.18.3.0/24"),
        ]);
        using var sampler = Sampler.Open(net.Leaves[Host], RoutedNetwork.If, o => o with { CrossRegionRttThresholdUs = 10_000 });
        await using var sink = TcpSink.Start(net.Leaves[Host], new IPEndPoint(RoutedNetwork.Address(Host), 7000));

        var remote = await MeasureAsync(net, sampler, Remote);
        var local = await MeasureAsync(net, sampler, Local);
        output.WriteLine($"remote: {remote}; local: {local}");
        Assert.True(remote.InBytes > 2_000_000, "too little remote traffic to judge");
        Assert.True(remote.InShare >= 0.99, $"remote ingress classified cross-region: {remote.InShare:P2}");
        Assert.True(remote.OutShare >= 0.99, $"remote egress classified cross-region: {remote.OutShare:P2}");
        Assert.True(local.InShare <= 0.01, $"local ingress classified cross-region: {local.InShare:P2}");
        Assert.True(local.OutShare <= 0.01, $"local egress classified cross-region: {local.OutShare:P2}");

        // The prefix list wins over the RTT rule, both ways.
        sampler.SetRegionPrefixes([RegionPrefix.Parse("198.18.2.0/24=remote"), RegionPrefix.Parse("198.18.3.0/24=local")]);
        var localForced = await MeasureAsync(net, sampler, Local);
        var remoteForced = await MeasureAsync(net, sampler, Remote);
        output.WriteLine($"local as remote: {localForced}; remote as local: {remoteForced}");
        Assert.True(localForced.InShare >= 0.99, $"prefix=remote ignored: {localForced.InShare:P2}");
        Assert.True(remoteForced.InShare <= 0.01, $"prefix=local ignored: {remoteForced.InShare:P2}");
    }

    private sealed record Shares(ulong InBytes, double InShare, double OutShare);

    private static async Task<Shares> MeasureAsync(RoutedNetwork net, KernelSampler sampler, int peer)
    {
        long start = TaiClock.FromNow(TimeSpan.FromMilliseconds(200));
        var run = Sampler.RecordAsync(sampler, start, 10_000_000, 300);
        TaiClock.SleepUntil(start + 50_000_000);
        await TcpBulkSender.RunAsync(new TcpBulkOptions
        {
            Namespace = net.Leaves[peer],
            Target = new IPEndPoint(RoutedNetwork.Address(Host), 7000),
            Duration = TimeSpan.FromSeconds(2),
        });
        Run r = await run;
        ulong inB = r.Series.IngressBytes.Sum(), outB = r.Series.EgressBytes.Sum();
        return new Shares(inB,
            inB == 0 ? 0 : (double)r.Series.IngressCrossRegionBytes.Sum() / inB,
            outB == 0 ? 0 : (double)r.Series.EgressCrossRegionBytes.Sum() / outB);
    }
}
