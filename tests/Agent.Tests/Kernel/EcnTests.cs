using System.Net;
using System.Net.Sockets;
using Millisampler.Agent.Bpf;
using Millisampler.Lab;

namespace Millisampler.Agent.Tests.Kernel;

/// <summary>Ingress CE bytes against what a marking element in the path marked.</summary>
[Collection(KernelCollection.Name)]
public sealed class EcnTests
{
    private const int MarkedPort = 4791;
    private const int UnmarkedPort = 4792;

    [Fact]
    public async Task IngressCeBytes_EqualBytesTheMarkerMarked_IPv4AndIPv6()
    {
        await using var net = await PairNetwork.CreateAsync(ipv6: true, staticNeighbours: true);
        var rxV6 = await net.LinkLocalAsync(net.Rx);
        // The sender reaches a link-local address through its own eth0.
        var targetV6 = new IPAddress(rxV6.GetAddressBytes(), NetNs.GetIfIndex(net.Tx, PairNetwork.If));

        using var marker = Repo.LoadTestObject("ce_marker");
        SetMarkerPort(marker, MarkedPort);
        using var markerHook = NetNs.Run(net.Tx, () => HookAttachment.Attach(PairNetwork.If, marker.ProgramFd("ms_test_ce_marker"), HookDirection.Egress, AttachMode.Tcx, 1));
        using var rxSampler = Sampler.Open(net.Rx, PairNetwork.If);

        await using var sink4m = UdpSink.Start(net.Rx, new IPEndPoint(PairNetwork.RxAddress, MarkedPort));
        await using var sink4u = UdpSink.Start(net.Rx, new IPEndPoint(PairNetwork.RxAddress, UnmarkedPort));
        await using var sink6m = UdpSink.Start(net.Rx, new IPEndPoint(IPAddress.IPv6Any, MarkedPort));
        await using var sink6u = UdpSink.Start(net.Rx, new IPEndPoint(IPAddress.IPv6Any, UnmarkedPort));

        long start = TaiClock.FromNow(TimeSpan.FromMilliseconds(300));
        var run = Sampler.RecordAsync(rxSampler, start, 10_000_000, 200);
        TaiClock.SleepUntil(start + 100_000_000);
        var sender = new[] { new BurstSender(net.Tx, 1_000_000) };
        await UdpBurst.RunAsync(sender, new IPEndPoint(PairNetwork.RxAddress, MarkedPort), TaiClock.NowNs(), 1000, segmentationOffload: false);
        await UdpBurst.RunAsync(sender, new IPEndPoint(PairNetwork.RxAddress, UnmarkedPort), TaiClock.NowNs(), 1000, segmentationOffload: false);
        await UdpBurst.RunAsync(sender, new IPEndPoint(targetV6, MarkedPort), TaiClock.NowNs(), 900, segmentationOffload: false);
        await UdpBurst.RunAsync(sender, new IPEndPoint(targetV6, UnmarkedPort), TaiClock.NowNs(), 900, segmentationOffload: false);
        var result = await run;

        var counts = ReadMarkerCounts(marker);
        Assert.True(counts.V4Packets >= 900 && counts.V6Packets >= 900, $"marker saw too little: {counts}");
        ulong marked = counts.V4Bytes + counts.V6Bytes;
        Assert.Equal(marked, result.Series.IngressCeBytes.Sum());
        // The unmarked half arrived too and is not counted as CE.
        Assert.True(result.Series.IngressBytes.Sum() > 2 * marked - 200_000, "unmarked traffic missing");
    }

    private static unsafe void SetMarkerPort(BpfObject marker, int port)
    {
        uint key = 0, value = (uint)port;
        int err = Bpf.Native.LibBpf.MapUpdateElem(marker.MapFd("ms_marker_port", 4), &key, &value, 0);
        Assert.Equal(0, err);
    }

    private static unsafe MarkerCounts ReadMarkerCounts(BpfObject marker)
    {
        uint key = 0;
        MarkerCounts c;
        int err = Bpf.Native.LibBpf.MapLookupElem(marker.MapFd("ms_marker_counts", sizeof(MarkerCounts)), &key, &c);
        Assert.Equal(0, err);
        return c;
    }

    private record struct MarkerCounts(ulong V4Bytes, ulong V4Packets, ulong V6Bytes, ulong V6Packets);
}
