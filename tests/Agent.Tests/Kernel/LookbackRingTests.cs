using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Millisampler.Agent.Bpf;
using Millisampler.Agent.Bpf.Native;
using Millisampler.Lab;
using Xunit.Abstractions;

namespace Millisampler.Agent.Tests.Kernel;

/// <summary>The in-kernel look-back ring: per-CPU slots on the absolute TAI grid, read as windows.</summary>
[Collection(KernelCollection.Name)]
public sealed partial class LookbackRingTests(ITestOutputHelper output)
{
    private const string Prefix = "ms-h11-";

    private static readonly LookbackRingOptions DefaultRing = new();

    [Fact]
    public unsafe void RingOn_LoadsAndMapsTheRing_OffLeavesOneEntryMaps()
    {
        using (var on = SamplerObject.Load(new SamplerLoadOptions { Lookback = DefaultRing }))
        {
            Assert.NotNull(on.Lookback);
            Assert.Equal(4096u * (uint)on.PossibleCpus, MaxEntries(on.RingBinsFd));
            Assert.Equal(4096u, MaxEntries(on.RingSketchFd));
            Assert.True(on.RingBins != null);
        }
        using var off = SamplerObject.Load(new SamplerLoadOptions());
        Assert.Null(off.Lookback);
        Assert.Equal(1u, MaxEntries(off.RingBinsFd));
        Assert.Equal(1u, MaxEntries(off.RingSketchFd));
    }

    [Fact]
    public unsafe void KernelMemory_AllMapsAtDefaults_Under64MiBAt128Cpus()
    {
        using var s = SamplerObject.Load(new SamplerLoadOptions { Lookback = DefaultRing });
        long depth = DefaultRing.DepthBins;

        // The kernel's own accounting of the ring maps on this machine matches the formula.
        long measured = MemLock(s.RingBinsFd) + MemLock(s.RingSketchFd);
        long formulaHere = (depth * s.PossibleCpus * sizeof(MsRingBin)) + (depth * sizeof(MsRingSketch));
        Assert.InRange(measured, formulaHere, formulaHere + (4 * 4096) + 8192);

        // docs/sampler.md: everything at 128 CPUs.
        long runs = (s.MaxBins * (long)sizeof(MsBin) * 128) + (s.MaxBins * (long)sizeof(MsSketch)) + (s.MaxFlows * (40L + 16L + (2 * (sizeof(MsFlow) + 64))));
        long ring = (depth * 128 * sizeof(MsRingBin)) + (depth * sizeof(MsRingSketch));
        Assert.Equal(48, sizeof(MsRingBin));
        Assert.True(runs + ring <= 64L * 1024 * 1024, $"{(runs + ring) / 1048576.0:F1} MiB");
    }

    private static long MemLock(int fd)
    {
        foreach (var line in File.ReadLines($"/proc/self/fdinfo/{fd}"))
        {
            if (line.StartsWith("memlock:", StringComparison.Ordinal))
            {
                return long.Parse(line[8..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
            }
        }
        throw new InvalidOperationException("no memlock line");
    }

    [Theory]
    [InlineData(1_000_000L, 1000u)]
    [InlineData(1_000L, 4096u)]
    [InlineData(1_000_000L, 0u)]
    public void ImpossibleRingShape_IsRefusedWithAReason(long width, uint depth)
    {
        var ex = Assert.Throws<ArgumentException>(() => SamplerObject.Load(new SamplerLoadOptions { Lookback = new LookbackRingOptions { BinWidthNs = width, DepthBins = depth } }));
        Assert.Contains("look-back", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// CPU 0 writes a bin, then CPU 1 writes the bin one lap later into the same slot: CPU 0's
    /// copy keeps its old tag (no cross-CPU write) and a read of the new bin takes only CPU 1's
    /// packet. CPU 0 then writes a lap later again: its copy is reset, not added to.
    /// </summary>
    [Fact]
    public unsafe void SlotsResetPerCpu_StaleCopiesOfOtherCpusAreNotRead()
    {
        if (Environment.ProcessorCount < 2)
        {
            return;
        }

        // 100 ms bins, 64 slots: a lap is 6.4 s, and a run half a bin late still lands where aimed.
        var ring = new LookbackRingOptions { BinWidthNs = 100_000_000, DepthBins = 64 };
        using var obj = SamplerObject.Load(new SamplerLoadOptions { Lookback = ring });
        var frame = UdpFrame(100);
        long lap = ring.BinWidthNs * ring.DepthBins;

        long b0 = RunOnCpuInSlot(obj, ring, 0, frame, TaiClock.NowNs() + ring.BinWidthNs);
        long b1 = RunOnCpuInSlot(obj, ring, 1, frame, (b0 * ring.BinWidthNs) + lap);
        Assert.Equal(0, (b1 - b0) % ring.DepthBins);
        Assert.True(b1 > b0);

        var cpu0 = Slot(obj, ring, 0, b0);
        var cpu1 = Slot(obj, ring, 1, b1);
        Assert.Equal((ulong)b0, cpu0.Bin);
        Assert.Equal(1u, cpu0.InPackets);
        Assert.Equal((ulong)b1, cpu1.Bin);
        Assert.Equal(1u, cpu1.InPackets);

        using var sampler = SamplerReader(obj);
        WaitPast(b1, ring.BinWidthNs);
        var window = sampler.ReadRing(b1, 1);
        Assert.Equal(1UL, window.Series.IngressPackets[0]);
        Assert.Equal((ulong)frame.Length, window.Series.IngressBytes[0]);
        Assert.Equal(1UL, window.Series.IngressConnections[0]);

        long b2 = RunOnCpuInSlot(obj, ring, 0, frame, (b1 * ring.BinWidthNs) + lap);
        Assert.Equal(0, (b2 - b1) % ring.DepthBins);
        cpu0 = Slot(obj, ring, 0, b2);
        Assert.Equal((ulong)b2, cpu0.Bin);
        Assert.Equal(1u, cpu0.InPackets);
        Assert.Equal((uint)frame.Length, cpu0.InBytes);

        var tooOld = Assert.Throws<LookbackWindowException>(() => sampler.ReadRing(b1, 1));
        Assert.Contains("no longer in the ring", tooOld.Message, StringComparison.Ordinal);
        var future = Assert.Throws<LookbackWindowException>(() => sampler.ReadRing(b2 + 1000, 1));
        Assert.Contains("not wholly past", future.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// The ring runs over more than a full lap of traffic; then a quiet gap, one measured stretch of
    /// traffic and another gap. The window over the measured stretch holds exactly the interface
    /// counters' deltas on both hosts and both directions: no stale counts of the lap before, no
    /// packet lost at the edges.
    /// </summary>
    [Fact]
    public async Task WindowAfterWrapAround_EqualsInterfaceCounterDeltas()
    {
        await using var net = await PairNetwork.CreateAsync(offloads: false, prefix: Prefix);
        using var tx = Sampler.Open(net.Tx, PairNetwork.If, WithRing(DefaultRing));
        using var rx = Sampler.Open(net.Rx, PairNetwork.If, WithRing(DefaultRing));
        await using var sink = UdpSink.Start(net.Rx, new IPEndPoint(PairNetwork.RxAddress, 5001));
        using var socket = NetNs.Run(net.Tx, () => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
        var target = new IPEndPoint(PairNetwork.RxAddress, 5001);
        long width = DefaultRing.BinWidthNs;

        // A lap and a half of datagrams every ~1 ms: every slot the window uses held older bins.
        long lapNs = width * DefaultRing.DepthBins;
        long fillEnd = TaiClock.NowNs() + (lapNs * 3 / 2);
        var payload = new byte[700];
        int filled = 0;
        while (TaiClock.NowNs() < fillEnd)
        {
            socket.SendTo(payload, target);
            filled++;
            Thread.Sleep(1);
        }

        await Task.Delay(50);
        var txBefore = NetStats.ReadInterface(net.Tx, PairNetwork.If);
        var rxBefore = NetStats.ReadInterface(net.Rx, PairNetwork.If);
        long firstBin = (TaiClock.NowNs() / width) + 1;
        TaiClock.SleepUntil((firstBin * width) + 2_000_000);
        long sendEnd = TaiClock.NowNs() + 300_000_000;
        var big = new byte[1200];
        long firstSendBefore = TaiClock.NowNs();
        socket.SendTo(big, target);
        long firstSendAfter = TaiClock.NowNs();
        int sent = 1;
        long lastSendBefore = 0;
        while (TaiClock.NowNs() < sendEnd)
        {
            lastSendBefore = TaiClock.NowNs();
            socket.SendTo(sent % 3 == 0 ? big : payload, target);
            if (++sent % 20 == 0)
            {
                Thread.Sleep(1);
            }
        }

        long lastSendAfter = TaiClock.NowNs();
        long lastBin = (lastSendAfter / width) + 1;
        await Task.Delay(30);
        var txDelta = NetStats.ReadInterface(net.Tx, PairNetwork.If).Minus(txBefore);
        var rxDelta = NetStats.ReadInterface(net.Rx, PairNetwork.If).Minus(rxBefore);
        long endBin = (TaiClock.NowNs() / width) - 2; // still inside the second quiet gap
        uint bins = (uint)(endBin - firstBin + 1);
        var txWindow = tx.ReadRing(firstBin - 20, bins + 20);
        var rxWindow = rx.ReadRing(firstBin - 20, bins + 20);

        output.WriteLine($"fill {filled} datagrams; window {firstBin - 20}+{bins + 20} (traffic to {lastBin}); sent {sent}; tx if {txDelta}; rx if {rxDelta}");
        output.WriteLine($"ring tx out {txWindow.Series.EgressBytes.Sum()}/{txWindow.Series.EgressPackets.Sum()} rx in {rxWindow.Series.IngressBytes.Sum()}/{rxWindow.Series.IngressPackets.Sum()}");
        Assert.True(filled > 300, $"the fill phase sent only {filled} datagrams");
        Assert.True(lastBin < endBin, "the quiet gap after the traffic is missing");
        Assert.Equal((ulong)sent, (ulong)rxDelta.RxPackets);
        Assert.Equal((ulong)txDelta.TxBytes, txWindow.Series.EgressBytes.Sum());
        Assert.Equal((ulong)txDelta.TxPackets, txWindow.Series.EgressPackets.Sum());
        Assert.Equal((ulong)txDelta.RxPackets, txWindow.Series.IngressPackets.Sum());
        Assert.Equal((ulong)rxDelta.RxBytes, rxWindow.Series.IngressBytes.Sum());
        Assert.Equal((ulong)rxDelta.RxPackets, rxWindow.Series.IngressPackets.Sum());
        Assert.Equal((ulong)rxDelta.TxPackets, rxWindow.Series.EgressPackets.Sum());

        // Nothing in the window's quiet edges, and the traffic spread over the bins it was sent in.
        Assert.Equal(0UL, rxWindow.Series.IngressPackets.Take(19).Sum());
        // The egress hook runs inside sendto(): the first and last datagrams are in the bins of
        // the instants around those calls, on the absolute grid.
        long windowStart = firstBin - 20;
        long firstTraffic = windowStart + txWindow.Series.EgressPackets.ToList().FindIndex(p => p > 0);
        long lastTraffic = windowStart + txWindow.Series.EgressPackets.ToList().FindLastIndex(p => p > 0);
        Assert.InRange(firstTraffic, firstSendBefore / width, firstSendAfter / width);
        Assert.InRange(lastTraffic, lastSendBefore / width, lastSendAfter / width);
        Assert.Equal(1UL, rxWindow.Series.IngressConnections.Max());
    }

    /// <summary>
    /// One sender sends each datagram to two hosts back to back; both rings, read over the same
    /// absolute bins, agree bin for bin (within a datagram or two at a bin edge).
    /// </summary>
    [Fact]
    public async Task TwoHosts_AgreeBinForBin_OnOneSimultaneousBurst()
    {
        await using var net = await RoutedNetwork.CreateAsync(3, prefix: Prefix);
        using var a = Sampler.Open(net.Leaves[1], RoutedNetwork.If, WithRing(DefaultRing));
        using var b = Sampler.Open(net.Leaves[2], RoutedNetwork.If, WithRing(DefaultRing));
        var targetA = new IPEndPoint(RoutedNetwork.Address(1), 6000);
        var targetB = new IPEndPoint(RoutedNetwork.Address(2), 6000);
        await using var sinkA = UdpSink.Start(net.Leaves[1], targetA);
        await using var sinkB = UdpSink.Start(net.Leaves[2], targetB);
        using var socket = NetNs.Run(net.Leaves[0], () => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
        long width = DefaultRing.BinWidthNs;
        var payload = new byte[1000];

        // Warm the path (ARP, routes) outside the window.
        socket.SendTo(payload, targetA);
        socket.SendTo(payload, targetB);
        await Task.Delay(100);

        long firstBin = (TaiClock.NowNs() / width) + 2;
        TaiClock.SleepUntil((firstBin * width) + 10_000_000);
        long end = TaiClock.NowNs() + 200_000_000;
        int pairs = 0;
        while (TaiClock.NowNs() < end)
        {
            socket.SendTo(payload, targetA);
            socket.SendTo(payload, targetB);
            if (++pairs % 10 == 0)
            {
                Thread.Sleep(1);
            }
        }

        // Past the traffic by a margin a loaded machine's softirq backlog cannot exceed.
        await Task.Delay(300);
        uint bins = (uint)((TaiClock.NowNs() / width) - firstBin - 1);
        var ra = a.ReadRing(firstBin, bins);
        var rb = b.ReadRing(firstBin, bins);
        var pa = ra.Series.IngressPackets;
        var pb = rb.Series.IngressPackets;
        output.WriteLine($"pairs {pairs}, bins {bins}");
        output.WriteLine("a: " + string.Join(' ', pa.Take(230)));
        output.WriteLine("b: " + string.Join(' ', pb.Take(230)));

        // Every datagram is counted; a stray packet of the host's own (one seen in CI) may add one or two.
        Assert.InRange(pa.Sum(), (ulong)pairs, (ulong)pairs + 2);
        Assert.InRange(pb.Sum(), (ulong)pairs, (ulong)pairs + 2);
        // The first and last bins with traffic agree, or differ by the one bin a straddling pair moves a
        // datagram (seen once: the last pair's datagram to B landed in the next bin).
        Assert.InRange(pb.ToList().FindIndex(p => p > 0) - pa.ToList().FindIndex(p => p > 0), 0, 1);
        Assert.InRange(pb.ToList().FindLastIndex(p => p > 0) - pa.ToList().FindLastIndex(p => p > 0), 0, 1);
        // A pair can straddle a bin edge (its two datagrams leave µs apart): at most one or two
        // datagrams move to the next bin, never more, and only at some edges.
        long moved = 0;
        for (int i = 0; i < pa.Count; i++)
        {
            long d = Math.Abs((long)pa[i] - (long)pb[i]);
            Assert.True(d <= 2, $"bin {firstBin + i}: {pa[i]} vs {pb[i]} packets");
            moved += d;
        }
        Assert.True(moved <= pairs / 10, $"{moved} datagrams in different bins");
    }

    private static Func<KernelSamplerOptions, KernelSamplerOptions> WithRing(LookbackRingOptions ring) =>
        o => o with { Load = o.Load with { Lookback = ring } };

    private static unsafe uint MaxEntries(int mapFd)
    {
        var info = new byte[128];
        uint len = (uint)info.Length;
        fixed (byte* p = info)
        {
            Assert.Equal(0, LibBpf.ObjGetInfoByFd(mapFd, p, &len));
            return BitConverter.ToUInt32(info, 16); // struct bpf_map_info: type, id, key_size, value_size, max_entries
        }
    }

    private static unsafe MsRingBin Slot(SamplerObject obj, LookbackRingOptions ring, int cpu, long bin) =>
        obj.RingBins[(cpu * ring.DepthBins) + ((uint)bin & (ring.DepthBins - 1))];

    /// <summary>A reader over an already loaded object: the ring needs no attachment to be read.</summary>
    private static KernelSampler SamplerReader(SamplerObject obj) => KernelSampler.ForObject(obj, new Clock.HostClock());

    private static void WaitPast(long bin, long width) => TaiClock.SleepUntil(((bin + 1) * width) + 1_000_000);

    /// <summary>
    /// Runs the ingress program once on <paramref name="cpu"/>, in the middle of the first bin at or
    /// after <paramref name="atTaiNs"/> that falls on the same ring slot; a run that starts late (a
    /// loaded machine) tries the same slot one lap later. Returns the bin it ran in.
    /// </summary>
    private static unsafe long RunOnCpuInSlot(SamplerObject obj, LookbackRingOptions ring, int cpu, byte[] frame, long atTaiNs)
    {
        long width = ring.BinWidthNs;
        long bin = atTaiNs / width;
        long last = 0;
        for (int attempt = 0; attempt < 4; attempt++, bin += ring.DepthBins)
        {
            long result = -1;
            long target = bin;
            var thread = new Thread(() =>
            {
                ulong mask = 1UL << cpu;
                if (SchedSetAffinity(0, sizeof(ulong), &mask) != 0)
                {
                    return;
                }

                TaiClock.SleepUntil((target * width) + (width / 2));
                fixed (byte* data = frame)
                {
                    var opts = new LibBpf.TestRunOpts { Size = (nuint)sizeof(LibBpf.TestRunOpts), DataIn = data, DataSizeIn = (uint)frame.Length, Repeat = 1 };
                    long before = TaiClock.NowNs() / width;
                    int err = LibBpf.ProgTestRun(obj.IngressProgramFd, &opts);
                    long after = TaiClock.NowNs() / width;
                    result = err == 0 && before == after ? before : -2;
                }
            });
            thread.Start();
            thread.Join();
            if (result == target)
            {
                return target;
            }

            // A run in another bin (late) wrote a slot we do not check; it does not disturb the test's slots
            // unless it is one of them, which the callers' assertions would show.
            last = result;
        }
        throw new InvalidOperationException($"Could not run the program in the middle of a bin on CPU {cpu} (last got {last}).");
    }

    /// <summary>Ethernet + IPv4 + UDP, 198.18.0.1:1000 → 198.18.0.2:2000, <paramref name="payload"/> bytes.</summary>
    private static byte[] UdpFrame(int payload)
    {
        var f = new byte[14 + 20 + 8 + payload];
        f[12] = 0x08;
        f[14] = 0x45;
        int ipLen = 20 + 8 + payload;
        f[16] = (byte)(ipLen >> 8);
        f[17] = (byte)ipLen;
        f[22] = 64;
        f[23] = 17;
        new byte[] { 198, 18, 0, 1, 198, 18, 0, 2 }.CopyTo(f, 26);
        f[34] = 1000 >> 8;
        f[35] = 1000 & 0xff;
        f[36] = 2000 >> 8;
        f[37] = 2000 & 0xff;
        f[38] = (byte)((8 + payload) >> 8);
        f[39] = (byte)(8 + payload);
        return f;
    }

    [LibraryImport("libc", EntryPoint = "sched_setaffinity", SetLastError = true)]
    private static unsafe partial int SchedSetAffinity(int pid, nuint size, ulong* mask);
}
