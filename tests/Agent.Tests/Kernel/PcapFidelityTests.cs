using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Millisampler.Agent.Bpf;
using Millisampler.Common.Time;
using Millisampler.Lab;
using Xunit.Abstractions;
using LabTai = Millisampler.Lab.TaiClock;

namespace Millisampler.Agent.Tests.Kernel;

/// <summary>
/// Per-bin counts against an independent clock: tcpdump's packet timestamps (the kernel's packet tap, nanosecond
/// precision) on the same interfaces. The look-back ring, read after it wrapped, and an armed run over the same bins
/// must put every packet in the bin its pcap timestamp says, except packets stamped within <see cref="EdgeNs"/> of a bin
/// edge, which may fall on either side (the tap and the tc hook read the clock a few µs apart), and received packets,
/// which may reach the hook up to <see cref="IngressLagNs"/> after the tap stamped them.
/// </summary>
[Collection(KernelCollection.Name)]
public sealed partial class PcapFidelityTests(ITestOutputHelper output)
{
    private const string Prefix = "ms-pcap-";

    /// <summary>How far from a bin edge a pcap timestamp must be for its bin to be certain.</summary>
    private const long EdgeNs = 100_000;

    /// <summary>
    /// How much later than its pcap stamp a received packet may reach the tc ingress hook: the veth queues it to the
    /// backlog (the stamp) and the NET_RX softirq runs the hook, which a loaded machine defers to ksoftirqd for
    /// milliseconds (CI saw more than 5 ms once). A packet counted EARLIER than its stamp, or not at all, still fails.
    /// </summary>
    private const long IngressLagNs = 30_000_000;

    /// <summary>Quiet bins after the measured stretch: more than <see cref="IngressLagNs"/>, so no packet straddles the end.</summary>
    private const int QuietAfterBins = 60;

    [Fact]
    public async Task RingWindowAfterWrapAndArmedRun_PutEveryPacketInItsPcapBin()
    {
        // A small ring (512 × 1 ms) so a full lap and a half of filler takes under a second.
        var ring = new LookbackRingOptions { DepthBins = 512 };
        long width = ring.BinWidthNs;
        await using var net = await PairNetwork.CreateAsync(offloads: false, prefix: Prefix);
        using var tx = Sampler.Open(net.Tx, PairNetwork.If, o => o with { Load = o.Load with { Lookback = ring } });
        using var rx = Sampler.Open(net.Rx, PairNetwork.If, o => o with { Load = o.Load with { Lookback = ring } });
        var target = new IPEndPoint(PairNetwork.RxAddress, 5002);
        await using var sink = UdpSink.Start(net.Rx, target);
        using var socket = NetNs.Run(net.Tx, () => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));

        string dir = Directory.CreateTempSubdirectory("ms-pcap-").FullName;
        try
        {
            await using var egressPcap = await Tcpdump.StartAsync(net.Tx, PairNetwork.If, "out", Path.Combine(dir, "tx-out.pcap"));
            await using var ingressPcap = await Tcpdump.StartAsync(net.Rx, PairNetwork.If, "in", Path.Combine(dir, "rx-in.pcap"));

            // A lap and a half of datagrams every ~1 ms: every slot of the window held an older bin.
            var filler = new byte[300];
            long fillEnd = LabTai.NowNs() + (width * ring.DepthBins * 3 / 2);
            while (LabTai.NowNs() < fillEnd)
            {
                socket.SendTo(filler, target);
                Thread.Sleep(1);
            }

            // The measured stretch: per bin a seeded number of datagrams of seeded sizes, sent in the bin's middle third.
            const int Bins = 200;
            long firstBin = (LabTai.NowNs() / width) + 200;
            Task<Millisampler.Contracts.V1.Run> armed = Sampler.RecordAsync(rx, firstBin * width, width, Bins + 20 + QuietAfterBins);
            long measuredFirst = firstBin + 20;
            var random = new Random(11);
            int sent = 0;
            for (long bin = measuredFirst; bin < measuredFirst + Bins; bin++)
            {
                int count = random.Next(0, 9);
                LabTai.SleepUntil((bin * width) + (width / 3));
                for (int i = 0; i < count && LabTai.NowNs() < (bin * width) + (width * 2 / 3); i++)
                {
                    socket.SendTo(new byte[random.Next(20, 1400)], target);
                    sent++;
                }
            }

            var run = await armed.WaitAsync(TimeSpan.FromSeconds(30));
            long windowFirst = firstBin;
            uint windowBins = Bins + 20 + QuietAfterBins;
            LabTai.SleepUntil(((windowFirst + windowBins + 2) * width) + 1_000_000);
            var txWindow = tx.ReadRing(windowFirst, windowBins);
            var rxWindow = rx.ReadRing(windowFirst, windowBins);

            var txStats = await egressPcap.StopAsync();
            var rxStats = await ingressPcap.StopAsync();
            output.WriteLine($"sent {sent}; tcpdump tx: {txStats}; rx: {rxStats}");
            // A loaded machine wakes the sender late and skips bins; enough must remain for the comparison to mean something.
            Assert.True(sent >= 60, $"only {sent} datagrams sent in the measured stretch");
            Tcpdump.AssertComplete(txStats);
            Tcpdump.AssertComplete(rxStats);

            long taiOffsetNs = SystemClocks.TaiOffsetSeconds() * 1_000_000_000L;
            var egress = PcapFile.Read(egressPcap.Path, taiOffsetNs);
            var ingress = PcapFile.Read(ingressPcap.Path, taiOffsetNs);

            // Egress: the tc hook runs just before the tap in the same call, µs apart. Ingress: the tap's stamp is taken when
            // the veth queues the packet to the receiving side's backlog, the hook's when the softirq processes it, which a
            // loaded machine can defer by milliseconds: a packet may only move LATER, never earlier than its stamp allows.
            var tx1 = AssertBinsMatch("ring egress", egress, windowFirst, width, EdgeNs, EdgeNs, txWindow.Series.EgressPackets, txWindow.Series.EgressBytes);
            AssertBinsMatch("ring ingress", ingress, windowFirst, width, EdgeNs, IngressLagNs, rxWindow.Series.IngressPackets, rxWindow.Series.IngressBytes);
            AssertBinsMatch("armed run ingress", ingress, windowFirst, width, EdgeNs, IngressLagNs, run.Series.IngressPackets, run.Series.IngressBytes);
            // The pattern was sent away from the edges: the egress check is tight.
            Assert.True(tx1.Uncertain < sent / 20, $"{tx1.Uncertain} egress packets within {EdgeNs} ns of an edge");
            Assert.Equal(0, tx1.BinsDiffering);
            // The window holds exactly what tcpdump saw in its time range: no stale count from the lap before.
            Assert.Equal((ulong)ingress.Count(p => InWindow(p.TaiNs, windowFirst, windowBins, width)), rxWindow.Series.IngressPackets.Sum());
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static bool InWindow(long taiNs, long firstBin, uint bins, long width) =>
        taiNs >= (firstBin * width) && taiNs < ((firstBin + bins) * width);

    /// <summary>
    /// Each packet may be counted in any bin from that of its pcap time minus <paramref name="earlyNs"/> to that of its pcap
    /// time plus <paramref name="lateNs"/>, and in no other. Such an assignment exists exactly when, for every bin b, the
    /// count up to b is at least the packets whose latest bin is ≤ b and at most those whose earliest bin is ≤ b (the
    /// intervals are ordered alike); checked for packets and bytes, with equal totals over the range. Returns how many
    /// packets of the range had more than one possible bin, and how many bins differ from the pcap bin exactly.
    /// </summary>
    private (int Uncertain, int BinsDiffering) AssertBinsMatch(string what, IReadOnlyList<PcapPacket> packets, long firstBin, long width,
        long earlyNs, long lateNs, IReadOnlyList<ulong> measuredPackets, IReadOnlyList<ulong> measuredBytes)
    {
        int bins = measuredPackets.Count;
        var byLatest = new (long Packets, long Bytes)[bins];
        var byEarliest = new (long Packets, long Bytes)[bins];
        var exact = new long[bins];
        int uncertain = 0;
        foreach (var p in packets)
        {
            long earliest = ((p.TaiNs - earlyNs) / width) - firstBin;
            long latest = ((p.TaiNs + lateNs) / width) - firstBin;
            if (latest < 0 || earliest >= bins)
            {
                continue;
            }

            // Traffic that could fall either inside the range or outside it would make the totals uncertain: the test
            // leaves quiet bins at both ends, so there is none.
            Assert.True(earliest >= 0 && latest < bins, $"{what}: a packet at {p.TaiNs} straddles the range's end");
            uncertain += earliest == latest ? 0 : 1;
            byLatest[latest] = (byLatest[latest].Packets + 1, byLatest[latest].Bytes + p.Length);
            byEarliest[earliest] = (byEarliest[earliest].Packets + 1, byEarliest[earliest].Bytes + p.Length);
            exact[(p.TaiNs / width) - firstBin]++;
        }

        // The bins around a failure, measured against the pcap bin, so a failure says whether a packet came late or went missing.
        string Around(int b) => string.Join(' ', Enumerable.Range(Math.Max(0, b - 8), Math.Min(bins, b + 12) - Math.Max(0, b - 8))
            .Select(i => $"{firstBin + i}:{measuredPackets[i]}/{exact[i]}"));

        (long Packets, long Bytes) measured = (0, 0), mustBy = (0, 0), mayBy = (0, 0);
        int differing = 0;
        for (int b = 0; b < bins; b++)
        {
            measured = (measured.Packets + (long)measuredPackets[b], measured.Bytes + (long)measuredBytes[b]);
            mustBy = (mustBy.Packets + byLatest[b].Packets, mustBy.Bytes + byLatest[b].Bytes);
            mayBy = (mayBy.Packets + byEarliest[b].Packets, mayBy.Bytes + byEarliest[b].Bytes);
            Assert.True(measured.Packets >= mustBy.Packets && measured.Packets <= mayBy.Packets,
                $"{what}: {measured.Packets} packets up to bin {firstBin + b}; pcap says {mustBy.Packets}..{mayBy.Packets}; {Around(b)}");
            Assert.True(measured.Bytes >= mustBy.Bytes && measured.Bytes <= mayBy.Bytes,
                $"{what}: {measured.Bytes} bytes up to bin {firstBin + b}; pcap says {mustBy.Bytes}..{mayBy.Bytes}; {Around(b)}");
            differing += (long)measuredPackets[b] == exact[b] ? 0 : 1;
        }

        Assert.Equal(mayBy, measured);
        output.WriteLine($"{what}: {measured.Packets} packets, {measured.Bytes} bytes over {bins} bins, as pcap; {uncertain} packets within -{earlyNs}/+{lateNs} ns of an edge; {differing} bins differ from the pcap bin");
        return (uncertain, differing);
    }

    /// <summary>One packet of a pcap file: its timestamp moved to TAI, and its length on the wire.</summary>
    private readonly record struct PcapPacket(long TaiNs, long Length);

    /// <summary>Reads a nanosecond-resolution pcap file (magic a1b23c4d), as tcpdump --time-stamp-precision=nano writes.</summary>
    private static class PcapFile
    {
        public static IReadOnlyList<PcapPacket> Read(string path, long taiOffsetNs)
        {
            byte[] data = File.ReadAllBytes(path);
            Assert.True(data.Length >= 24, $"{path}: {data.Length} bytes, no pcap header");
            Assert.Equal(0xa1b23c4du, BinaryPrimitives.ReadUInt32LittleEndian(data));
            var packets = new List<PcapPacket>();
            int at = 24;
            while (at + 16 <= data.Length)
            {
                long seconds = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(at));
                long nanos = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(at + 4));
                int captured = (int)BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(at + 8));
                long original = BinaryPrimitives.ReadUInt32LittleEndian(data.AsSpan(at + 12));
                packets.Add(new PcapPacket((seconds * 1_000_000_000L) + nanos + taiOffsetNs, original));
                at += 16 + captured;
            }

            Assert.Equal(data.Length, at);
            return packets;
        }
    }

    /// <summary>tcpdump on one direction of an interface inside a namespace, writing every packet as it comes (-U).</summary>
    private sealed partial class Tcpdump : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly Task<string> _stderr;
        private bool _stopped;

        private Tcpdump(Process process, Task<string> stderr, string path)
        {
            _process = process;
            _stderr = stderr;
            Path = path;
        }

        public string Path { get; }

        public static async Task<Tcpdump> StartAsync(string ns, string ifname, string direction, string path)
        {
            var start = new ProcessStartInfo("ip")
            {
                RedirectStandardError = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            foreach (string arg in new[] { "netns", "exec", ns, "tcpdump", "-i", ifname, "-Q", direction, "-n", "-s", "96", "-U", "--immediate-mode",
                         "-B", "8192", "--time-stamp-precision=nano", "-w", path })
            {
                start.ArgumentList.Add(arg);
            }

            var process = Process.Start(start) ?? throw new InvalidOperationException("tcpdump did not start");
            var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var text = new System.Text.StringBuilder();
            Task<string> stderr = Task.Run(async () =>
            {
                while (await process.StandardError.ReadLineAsync() is { } line)
                {
                    text.AppendLine(line);
                    if (line.Contains("listening on", StringComparison.Ordinal))
                    {
                        ready.TrySetResult();
                    }
                }

                ready.TrySetResult();
                return text.ToString();
            });
            await ready.Task.WaitAsync(TimeSpan.FromSeconds(20));
            Assert.False(process.HasExited, "tcpdump exited: " + text);
            return new Tcpdump(process, stderr, path);
        }

        /// <summary>Stops it as Ctrl-C would (it flushes and prints its counts); returns what it printed.</summary>
        public async Task<string> StopAsync()
        {
            // Packets still in the socket's ring reach the file before the signal is handled.
            await Task.Delay(200);
            _stopped = true;
            Assert.Equal(0, Kill(_process.Id, 2));
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
            return (await _stderr).ReplaceLineEndings(" ");
        }

        /// <summary>Every packet the filter took was written and none was dropped (tcpdump's counts at exit).</summary>
        public static void AssertComplete(string stats)
        {
            var match = Counts().Match(stats);
            Assert.True(match.Success, "tcpdump printed no counts: " + stats);
            Assert.Equal(match.Groups[2].Value, match.Groups[1].Value);
            Assert.Equal("0", match.Groups[3].Value);
        }

        [System.Text.RegularExpressions.GeneratedRegex(@"(\d+) packets captured (\d+) packets received by filter (\d+) packets dropped by kernel")]
        private static partial System.Text.RegularExpressions.Regex Counts();

        public async ValueTask DisposeAsync()
        {
            if (!_stopped && !_process.HasExited)
            {
                _process.Kill();
                await _process.WaitForExitAsync();
            }

            _process.Dispose();
        }

        [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
        private static partial int Kill(int pid, int signal);
    }
}
