using System.Buffers.Binary;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using Millisampler.Agent.Bpf;
using Millisampler.Agent.Bpf.Native;
using Millisampler.Agent.Clock;
using Millisampler.Lab;

namespace Millisampler.Benchmarks;

/// <summary>
/// The kernel sampler's cost: ns per packet of each program armed and disarmed, net of the empty
/// program (BPF_PROG_TEST_RUN on a packet mix, and bpf_stats on live traffic); TCP throughput over
/// veth with nothing attached, the sampler attached (disarmed, armed) and tcpdump capturing
/// headers, side by side; read-out time and kernel memory for 2,000 bins.
/// </summary>
public static class SamplerBenchmark
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static int Run(string[] args)
    {
        int repeat = ArgInt(args, "--repeat", 200_000);
        int trials = ArgInt(args, "--trials", 7);
        double phaseSeconds = ArgInt(args, "--phase-ms", 3000) / 1000.0;
        Console.WriteLine($"# sampler benchmark, {Environment.ProcessorCount} CPUs, kernel {File.ReadAllText("/proc/sys/kernel/osrelease").Trim()}, load average {File.ReadAllText("/proc/loadavg").Trim()}");
        int compare = Array.IndexOf(args, "--compare");
        if (compare >= 0 && compare + 1 < args.Length)
        {
            Compare(File.ReadAllBytes(args[compare + 1]), repeat, trials);
            return 0;
        }

        TestRun(repeat, trials);
        if (!args.Contains("--no-live"))
        {
            Live(phaseSeconds).GetAwaiter().GetResult();
        }

        return 0;
    }

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Millisampler.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("run from inside the checkout");
    }

    private static int ArgInt(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], Inv) : fallback;
    }

    // ---- BPF_PROG_TEST_RUN ----

    private sealed record PacketKind(string Name, double Share, byte[][] Frames);

    private static void TestRun(int repeat, int trials)
    {
        using var obj = SamplerObject.Load(new SamplerLoadOptions { LoadBaselineProgram = true });
        using var ringObj = SamplerObject.Load(new SamplerLoadOptions { Lookback = new LookbackRingOptions() });
        var mix = PacketMix();
        var programs = new (string Name, int Fd)[] { ("ingress", obj.IngressProgramFd), ("egress", obj.EgressProgramFd) };

        Console.WriteLine();
        Console.WriteLine($"## BPF_PROG_TEST_RUN, {repeat:N0} repeats per packet, median of {trials} trials, ns per packet");
        Console.WriteLine("| program | state | " + string.Join(" | ", mix.Select(m => $"{m.Name} ({m.Share:P0})")) + " | mix, net of empty |");
        Console.WriteLine("|---|---|" + string.Concat(mix.Select(_ => "---|")) + "---|");
        var empty = mix.Select(m => Median(m.Frames, obj.BaselineProgramFd, repeat, trials)).ToArray();
        Console.WriteLine("| empty | - | " + string.Join(" | ", empty.Select(v => v.ToString("F1", Inv))) + " | 0 |");
        foreach (bool armed in new[] { false, true })
        {
            WriteConfig(obj, armed);
            foreach (var (name, fd) in programs)
            {
                var ns = mix.Select(m => Median(m.Frames, fd, repeat, trials)).ToArray();
                double net = mix.Select((m, i) => m.Share * (ns[i] - empty[i])).Sum();
                Console.WriteLine($"| {name} | {(armed ? "armed" : "disarmed")} | " + string.Join(" | ", ns.Select(v => v.ToString("F1", Inv))) + $" | **{net:F1}** |");
            }
        }
        WriteConfig(obj, armed: false);

        // The same programs with the look-back ring on (1 ms, 4,096 slots): ring alone, ring + armed run.
        var ringPrograms = new (string Name, int Fd)[] { ("ingress", ringObj.IngressProgramFd), ("egress", ringObj.EgressProgramFd) };
        foreach (bool armed in new[] { false, true })
        {
            WriteConfig(ringObj, armed);
            foreach (var (name, fd) in ringPrograms)
            {
                var ns = mix.Select(m => Median(m.Frames, fd, repeat, trials)).ToArray();
                double net = mix.Select((m, i) => m.Share * (ns[i] - empty[i])).Sum();
                Console.WriteLine($"| {name} | {(armed ? "ring on + armed" : "ring on, disarmed")} | " + string.Join(" | ", ns.Select(v => v.ToString("F1", Inv))) + $" | **{net:F1}** |");
            }
        }
        WriteConfig(ringObj, armed: false);
        long ringMemlock = MapFds(ringObj).Append(ringObj.RingBinsFd).Append(ringObj.RingSketchFd).Sum(MemLock);
        long ringFormula128 = (2000L * 72 * 128) + (2000L * 1024) + (ringObj.MaxFlows * (136L + 112L)) + (4096L * 48 * 128) + (4096L * 1032);
        Console.WriteLine($"ring on: kernel memory of the maps (fdinfo memlock, {ringObj.PossibleCpus} CPUs): {ringMemlock / 1024.0 / 1024.0:F2} MiB; formula at 128 CPUs: {ringFormula128 / 1024.0 / 1024.0:F1} MiB");

        // How much of the armed cost is the clock read alone (a test-only program that only reads it).
        var clockObject = Path.Combine(RepoRoot(), "bpf", "out", "test", "clock_cost.bpf.o");
        using (var clock = BpfObject.Open(File.ReadAllBytes(clockObject), "clock_cost"))
        {
            clock.Load();
            double clockNs = mix.Select((m, i) => m.Share * (Median(m.Frames, clock.ProgramFd("ms_test_clock"), repeat, trials) - empty[i])).Sum();
            string source = File.ReadAllText("/sys/devices/system/clocksource/clocksource0/current_clocksource").Trim();
            Console.WriteLine($"| clock read alone (bpf_ktime_get_tai_ns, clocksource {source}) | - | | | | | **{clockNs:F1}** |");
            double floorNs = mix.Select((m, i) => m.Share * (Median(m.Frames, clock.ProgramFd("ms_test_floor"), repeat, trials) - empty[i])).Sum();
            Console.WriteLine($"| floor: clock read + one LRU hash lookup, 16-byte key, no parsing | - | | | | | **{floorNs:F1}** |");
        }

        var sw = Stopwatch.StartNew();
        var times = new List<double>();
        var cpus = obj.PossibleCpus;
        for (int i = 0; i < 20; i++)
        {
            sw.Restart();
            ReadAndReset(obj, cpus);
            times.Add(sw.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        Console.WriteLine();
        Console.WriteLine($"read-out + reset of 2,000 bins ({cpus} possible CPUs): median {times[times.Count / 2]:F2} ms, max {times[^1]:F2} ms");
        long memlock = MapFds(obj).Sum(MemLock);
        Console.WriteLine($"kernel memory of the maps (fdinfo memlock, {cpus} CPUs): {memlock / 1024.0 / 1024.0:F2} MiB; formula at 128 CPUs: {(2000L * 72 * 128 + 2000L * 1024 + (obj.MaxFlows * (136L + 112L))) / 1024.0 / 1024.0:F1} MiB");
    }

    /// <summary>
    /// Another build of the kernel object (e.g. main's, `make -C bpf OUT=/tmp/old`) against this build's embedded
    /// one, in one run: every trial measures each state and program on both, alternating which goes first, so
    /// both see the same machine load. Cells: the mix, net of the empty program measured in the same trial.
    /// </summary>
    private static void Compare(byte[] oldImage, int repeat, int trials)
    {
        var ring = new LookbackRingOptions();
        using var oldPlain = SamplerObject.Load(new SamplerLoadOptions { LoadBaselineProgram = true, ObjectImage = oldImage });
        using var oldRing = SamplerObject.Load(new SamplerLoadOptions { Lookback = ring, ObjectImage = oldImage });
        using var newPlain = SamplerObject.Load(new SamplerLoadOptions { LoadBaselineProgram = true });
        using var newRing = SamplerObject.Load(new SamplerLoadOptions { Lookback = ring });
        var clockObject = Path.Combine(RepoRoot(), "bpf", "out", "test", "clock_cost.bpf.o");
        using var clock = BpfObject.Open(File.ReadAllBytes(clockObject), "clock_cost");
        clock.Load();
        int clockFd = clock.ProgramFd("ms_test_clock");
        int floorFd = clock.ProgramFd("ms_test_floor");
        var mix = PacketMix();
        var rows = new List<(string State, string Program, bool Armed, SamplerObject Old, SamplerObject New, bool Ingress)>();
        foreach (var (state, armed, isRing) in new[] { ("disarmed", false, false), ("armed", true, false), ("ring on, disarmed", false, true), ("ring on + armed", true, true) })
        {
            foreach (bool ingress in new[] { true, false })
            {
                rows.Add((state, ingress ? "ingress" : "egress", armed, isRing ? oldRing : oldPlain, isRing ? newRing : newPlain, ingress));
            }
        }

        var oldNs = rows.Select(_ => new List<double>()).ToArray();
        var newNs = rows.Select(_ => new List<double>()).ToArray();
        var clockNs = new List<double>();
        var floorNs = new List<double>();
        for (int t = 0; t < trials; t++)
        {
            var empty = mix.Select(m => Median(m.Frames, newPlain.BaselineProgramFd, repeat, 1)).ToArray();
            clockNs.Add(mix.Select((m, i) => m.Share * (Median(m.Frames, clockFd, repeat, 1) - empty[i])).Sum());
            floorNs.Add(mix.Select((m, i) => m.Share * (Median(m.Frames, floorFd, repeat, 1) - empty[i])).Sum());
            for (int r = 0; r < rows.Count; r++)
            {
                var row = rows[r];
                WriteConfig(row.Old, row.Armed);
                WriteConfig(row.New, row.Armed);
                int oldFd = row.Ingress ? row.Old.IngressProgramFd : row.Old.EgressProgramFd;
                int newFd = row.Ingress ? row.New.IngressProgramFd : row.New.EgressProgramFd;
                double o = 0, n = 0;
                for (int k = 0; k < mix.Count; k++)
                {
                    double so = 0, sn = 0;
                    foreach (var frame in mix[k].Frames)
                    {
                        // Frame by frame, alternating which object goes first, so both see the same load.
                        if ((t + k) % 2 == 0)
                        {
                            so += TestRunOnce(oldFd, frame, repeat);
                            sn += TestRunOnce(newFd, frame, repeat);
                        }
                        else
                        {
                            sn += TestRunOnce(newFd, frame, repeat);
                            so += TestRunOnce(oldFd, frame, repeat);
                        }
                    }
                    o += mix[k].Share * ((so / mix[k].Frames.Length) - empty[k]);
                    n += mix[k].Share * ((sn / mix[k].Frames.Length) - empty[k]);
                }
                oldNs[r].Add(o);
                newNs[r].Add(n);
                WriteConfig(row.Old, armed: false);
                WriteConfig(row.New, armed: false);
            }
        }

        static double Med(List<double> v)
        {
            v.Sort();
            return v[v.Count / 2];
        }

        Console.WriteLine();
        Console.WriteLine($"## old vs new object, BPF_PROG_TEST_RUN, {repeat:N0} repeats per packet, median of {trials} interleaved trials, ns per packet (mix, net of empty)");
        Console.WriteLine("| state | program | old | new | new − old |");
        Console.WriteLine("|---|---|---:|---:|---:|");
        for (int r = 0; r < rows.Count; r++)
        {
            double o = Med(oldNs[r]), n = Med(newNs[r]);
            Console.WriteLine($"| {rows[r].State} | {rows[r].Program} | {o:F1} | {n:F1} | {n - o:+0.0;-0.0} |");
        }
        string source = File.ReadAllText("/sys/devices/system/clocksource/clocksource0/current_clocksource").Trim();
        Console.WriteLine($"| clock read alone (bpf_ktime_get_tai_ns, {source}) | - | {Med(clockNs):F1} | | |");
        Console.WriteLine($"| floor: clock read + one LRU hash lookup, 16-byte key, no parsing | - | {Med(floorNs):F1} | | |");
        foreach (var (name, oldFd, newFd) in new[] { ("ingress", oldPlain.IngressProgramFd, newPlain.IngressProgramFd), ("egress", oldPlain.EgressProgramFd, newPlain.EgressProgramFd) })
        {
            var (oj, ox) = ProgramSize(oldFd);
            var (nj, nx) = ProgramSize(newFd);
            Console.WriteLine($"| program size, {name}: x86 bytes after JIT (BPF instructions after the verifier) | - | {oj:N0} ({ox:N0}) | {nj:N0} ({nx:N0}) | {nj - (long)oj:+0;-0} |");
        }
        Console.WriteLine($"load average after: {File.ReadAllText("/proc/loadavg").Trim()}");
    }

    /// <summary>A loaded program's JIT image in bytes and its verified instructions (bpf_prog_info).</summary>
    private static unsafe (uint JitedBytes, uint Instructions) ProgramSize(int progFd)
    {
        LibBpf.ProgInfo info = default;
        uint len = (uint)sizeof(LibBpf.ProgInfo);
        LibBpf.ObjGetInfoByFd(progFd, &info, &len);
        return (info.JitedProgLen, info.XlatedProgLen / 8);
    }

    private static double Median(byte[][] frames, int progFd, int repeat, int trials)
    {
        var results = new List<double>();
        for (int t = 0; t < trials; t++)
        {
            double sum = 0;
            foreach (var f in frames)
            {
                sum += TestRunOnce(progFd, f, repeat);
            }

            results.Add(sum / frames.Length);
        }
        results.Sort();
        return results[results.Count / 2];
    }

    private static unsafe double TestRunOnce(int progFd, byte[] frame, int repeat)
    {
        fixed (byte* data = frame)
        {
            var opts = new LibBpf.TestRunOpts
            {
                Size = (nuint)sizeof(LibBpf.TestRunOpts),
                DataIn = data,
                DataSizeIn = (uint)frame.Length,
                Repeat = repeat,
            };
            int err = LibBpf.ProgTestRun(progFd, &opts);
            if (err != 0)
            {
                throw BpfException.FromErrno("BPF_PROG_TEST_RUN failed", err);
            }

            return opts.Duration;
        }
    }

    private static unsafe void WriteConfig(SamplerObject obj, bool armed)
    {
        long now = new HostClock().NowTaiNs();
        var cfg = new MsConfig
        {
            StartNs = armed ? (ulong)(now - 1_000_000) : 0,
            BinWidthNs = 1_000_000_000,
            Bins = 2000,
            Armed = armed ? 1u : 0u,
            RttThresholdUs = 10_000,
        };
        uint key = 0;
        if (LibBpf.MapUpdateElem(obj.ConfigFd, &key, &cfg, 0) != 0)
        {
            throw new InvalidOperationException("config write failed");
        }
    }

    private static unsafe void ReadAndReset(SamplerObject obj, int cpus)
    {
        var values = new MsBin[cpus];
        var zero = new MsBin[cpus];
        fixed (MsBin* v = values)
        fixed (MsBin* z = zero)
        {
            for (uint bin = 0; bin < 2000; bin++)
            {
                uint key = bin;
                LibBpf.MapLookupElem(obj.BinsFd, &key, v);
                LibBpf.MapUpdateElem(obj.BinsFd, &key, z, 0);
            }
        }
        ulong ones = 0;
        for (int bin = 0; bin < 2000; bin++)
        {
            var s = obj.Sketches + bin;
            for (int w = 0; w < MsSketch.Words; w++)
            {
                ones += (ulong)System.Numerics.BitOperations.PopCount(s->In[w] | s->Out[w]);
            }
        }
        new Span<byte>(obj.Sketches, 2000 * sizeof(MsSketch)).Clear();
        GC.KeepAlive(ones);
    }

    private static IEnumerable<int> MapFds(SamplerObject obj) => [obj.ConfigFd, obj.BinsFd, obj.SketchFd, obj.FlowsFd, obj.Flows4Fd, obj.PrefixesFd, obj.StatsFd];

    private static long MemLock(int fd)
    {
        foreach (var line in File.ReadLines($"/proc/self/fdinfo/{fd}"))
        {
            if (line.StartsWith("memlock:", StringComparison.Ordinal))
            {
                return long.Parse(line[8..].Trim(), Inv);
            }
        }
        return 0;
    }

    /// <summary>60% TCP data, 25% pure ACKs, 10% IPv6 TCP data, 5% UDP; 64 flows of each.</summary>
    private static List<PacketKind> PacketMix()
    {
        byte[][] Flows(Func<int, byte[]> make) => Enumerable.Range(0, 64).Select(make).ToArray();
        return
        [
            new("tcp4 data", 0.60, Flows(i => Tcp(v6: false, (ushort)(40000 + i), 1448, seq: 1000))),
            new("tcp4 ack", 0.25, Flows(i => Tcp(v6: false, (ushort)(41000 + i), 0, seq: 1))),
            new("tcp6 data", 0.10, Flows(i => Tcp(v6: true, (ushort)(42000 + i), 1428, seq: 1000))),
            new("udp4", 0.05, Flows(i => Udp((ushort)(43000 + i), 1200))),
        ];
    }

    private static byte[] Tcp(bool v6, ushort sport, int payload, uint seq)
    {
        int l3 = v6 ? 40 : 20;
        var f = new byte[14 + l3 + 32 + payload];
        Ethernet(f, v6);
        IpHeader(f, v6, 6, 32 + payload);
        var t = f.AsSpan(14 + l3);
        BinaryPrimitives.WriteUInt16BigEndian(t, sport);
        BinaryPrimitives.WriteUInt16BigEndian(t[2..], 5201);
        BinaryPrimitives.WriteUInt32BigEndian(t[4..], seq);
        BinaryPrimitives.WriteUInt32BigEndian(t[8..], 1);
        t[12] = 8 << 4; // 32-byte header (timestamps)
        t[13] = 0x10;   // ACK
        return f;
    }

    private static byte[] Udp(ushort sport, int payload)
    {
        var f = new byte[14 + 20 + 8 + payload];
        Ethernet(f, v6: false);
        IpHeader(f, v6: false, 17, 8 + payload);
        var u = f.AsSpan(34);
        BinaryPrimitives.WriteUInt16BigEndian(u, sport);
        BinaryPrimitives.WriteUInt16BigEndian(u[2..], 4791);
        BinaryPrimitives.WriteUInt16BigEndian(u[4..], (ushort)(8 + payload));
        return f;
    }

    private static void Ethernet(byte[] f, bool v6)
    {
        f[0] = 0x02; f[5] = 0x02; f[6] = 0x02; f[11] = 0x01;
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), (ushort)(v6 ? 0x86dd : 0x0800));
    }

    private static void IpHeader(byte[] f, bool v6, byte proto, int l4Length)
    {
        var ip = f.AsSpan(14);
        if (v6)
        {
            ip[0] = 0x60;
            BinaryPrimitives.WriteUInt16BigEndian(ip[4..], (ushort)l4Length);
            ip[6] = proto;
            ip[7] = 64;
            IPAddress.Parse("2001:2::1").TryWriteBytes(ip[8..], out _);
            IPAddress.Parse("2001:2::2").TryWriteBytes(ip[24..], out _);
        }
        else
        {
            ip[0] = 0x45;
            ip[1] = 0x02; // ECT(0)
            BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(20 + l4Length));
            ip[6] = 0x40; // DF
            ip[8] = 64;
            ip[9] = proto;
            IPAddress.Parse("198.18.0.1").TryWriteBytes(ip[12..], out _);
            IPAddress.Parse("198.18.0.2").TryWriteBytes(ip[16..], out _);
        }
    }

    // ---- live traffic ----

    private static async Task Live(double phaseSeconds)
    {
        await using var lab = NetworkLab.Create();
        var names = await lab.AddNamespacesAsync(["btx", "brx"]);
        foreach (var n in names)
        {
            lab.SetSysctl(n, "net.ipv6.conf.all.disable_ipv6", "1");
        }

        await lab.AddVethAsync(names[0], "eth0", names[1], "eth0");
        await lab.AddAddressAsync(names[0], "eth0", "198.18.0.1/24");
        await lab.AddAddressAsync(names[1], "eth0", "198.18.0.2/24");
        var target = new IPEndPoint(IPAddress.Parse("198.18.0.2"), 5201);
        await using var sink = TcpSink.Start(names[1], target);

        async Task<double> Phase()
        {
            var r = await TcpBulkSender.RunAsync(new TcpBulkOptions { Namespace = names[0], Target = target, Connections = 2, Duration = TimeSpan.FromSeconds(phaseSeconds) });
            return r.GoodputBitsPerSecond / 1e9;
        }

        var results = new Dictionary<string, List<double>> { ["not attached"] = [], ["attached, disarmed"] = [], ["attached, armed (1 ms bins)"] = [], ["tcpdump -s 128 (headers)"] = [] };
        (double ingressNs, double egressNs, ulong runs) live = default;
        for (int round = 0; round < 2; round++)
        {
            results["not attached"].Add(await Phase());
            var opts = new KernelSamplerOptions { Interfaces = ["eth0"] };
            using (var rxSampler = NetNs.Run(names[1], () => KernelSampler.Open(opts, new HostClock())))
            using (var txSampler = NetNs.Run(names[0], () => KernelSampler.Open(opts, new HostClock())))
            {
                results["attached, disarmed"].Add(await Phase());
                long start = new HostClock().NowTaiNs();
                uint bins = (uint)Math.Min(2000, phaseSeconds * 1000 + 500);
                rxSampler.Arm(start, 1_000_000, bins);
                txSampler.Arm(start, 1_000_000, bins);
                int statsFd = LibBpf.EnableStats(LibBpf.StatsRunTime);
                var before = (Stats(rxSampler.Object.IngressProgramFd), Stats(txSampler.Object.EgressProgramFd));
                results["attached, armed (1 ms bins)"].Add(await Phase());
                var after = (Stats(rxSampler.Object.IngressProgramFd), Stats(txSampler.Object.EgressProgramFd));
                if (statsFd >= 0)
                {
                    Libc.Close(statsFd);
                }

                ulong runs = after.Item1.Count - before.Item1.Count;
                live = (
                    (after.Item1.Ns - before.Item1.Ns) / (double)Math.Max(1, runs),
                    (after.Item2.Ns - before.Item2.Ns) / (double)Math.Max(1, after.Item2.Count - before.Item2.Count),
                    runs);
                rxSampler.Disarm();
                txSampler.Disarm();
            }
            var dump = Process.Start(new ProcessStartInfo("ip", ["netns", "exec", names[1], "tcpdump", "-i", "eth0", "-s", "128", "-w", "/dev/null", "-q"]) { RedirectStandardError = true, RedirectStandardOutput = true });
            await Task.Delay(500);
            results["tcpdump -s 128 (headers)"].Add(await Phase());
            dump?.Kill();
            dump?.WaitForExit();
        }

        Console.WriteLine();
        Console.WriteLine($"## TCP over veth, 2 connections, {phaseSeconds:F0} s per phase, phases interleaved, 2 rounds (Gbit/s)");
        Console.WriteLine("| configuration | round 1 | round 2 | mean | vs not attached |");
        Console.WriteLine("|---|---|---|---|---|");
        double baseline = results["not attached"].Average();
        foreach (var (name, v) in results)
        {
            Console.WriteLine($"| {name} | {v[0]:F2} | {v[1]:F2} | {v.Average():F2} | {v.Average() / baseline:P0} |");
        }

        Console.WriteLine();
        Console.WriteLine($"bpf_stats on that traffic, armed: ingress {live.ingressNs:F0} ns per invocation, egress {live.egressNs:F0} ns ({live.runs:N0} ingress invocations; an invocation may be a GSO super-packet)");
    }

    private static unsafe (ulong Ns, ulong Count) Stats(int progFd)
    {
        LibBpf.ProgInfo info = default;
        uint len = (uint)sizeof(LibBpf.ProgInfo);
        LibBpf.ObjGetInfoByFd(progFd, &info, &len);
        return (info.RunTimeNs, info.RunCount);
    }
}
