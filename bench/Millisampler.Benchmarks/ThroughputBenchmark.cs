using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Millisampler.Agent.Bpf;
using Millisampler.Agent.Bpf.Native;
using Millisampler.Agent.Clock;
using Millisampler.Lab;

namespace Millisampler.Benchmarks;

/// <summary>
/// Throughput beside no capture: iperf3 between two namespaces over veth, in four configurations
/// (nothing attached; the sampler attached on both ends, disarmed; armed with 1 ms bins; tcpdump -s 96
/// on the receiver), for three workloads (TCP with default offloads, TCP with TSO/GSO/GRO off, UDP
/// 64-byte datagrams). Configurations are interleaved and their order rotated every round; the table
/// gives medians and the median of the per-round ratios to "nothing attached". bpf_stats
/// (kernel.bpf_stats_enabled) gives the programs' own run time per invocation and their share of the
/// phase's CPU time.
/// </summary>
/// <remarks>
/// The sampler is loaded and armed from this process, which then only waits: during an armed phase no
/// userspace of ours runs, so a loss there is the kernel program's (its run time and what it does to
/// caches). The agent's userspace cost is measured apart (the agent benchmark: CPU of a long-running agent).
/// </remarks>
public static class ThroughputBenchmark
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private const string FloorConfiguration = "floor: clock + one lookup";

    private const string ComparePrefix = "armed, ";

    private const string RingConfiguration = "ring on (the agent's default), no run";

    private const string RingArmedConfiguration = "ring on + armed, 1 ms bins";

    /// <summary>Other builds' object images by configuration name (--compare A.o,B.o).</summary>
    private static readonly Dictionary<string, byte[]> CompareImages = [];

    private static bool _pin;

    private static bool _bpfStats = true;

    private static string[] Configurations = ["nothing attached", "attached, disarmed", "armed, 1 ms bins", "tcpdump -s 96"];

    private sealed record Workload(string Name, bool Offloads, bool Udp, string Unit);

    private static readonly Workload[] Workloads =
    [
        new("TCP, default offloads", Offloads: true, Udp: false, "Gbit/s"),
        new("TCP, TSO/GSO/GRO off", Offloads: false, Udp: false, "Gbit/s"),
        new("UDP 64 B", Offloads: true, Udp: true, "Mpps"),
    ];

    private sealed record ProgramStats(ulong RunNs, ulong Runs);

    private sealed class Cell
    {
        public List<double> Values { get; } = [];
        public List<double> Ratios { get; } = [];
        public List<(double IngressNs, double EgressNs, double CpuShare)> Bpf { get; } = [];

        /// <summary>Busy CPU time per unit received (ns per byte, or per datagram for UDP), per round.</summary>
        public List<double> CpuPerUnit { get; } = [];

        /// <summary>Per round: "nothing attached"'s CPU per unit divided by this one's (below 1: costs more CPU).</summary>
        public List<double> CpuRatios { get; } = [];
    }

    public static int Run(string[] args)
    {
        int rounds = ArgInt(args, "--rounds", 5);
        int seconds = ArgInt(args, "--seconds", 4);
        string prefix = ArgString(args, "--prefix", "ms-tp-");
        string only = ArgString(args, "--workloads", "all");

        // --pin: iperf3's client on CPU 0 and its server on CPU 1 (-A), so every phase puts the sender, the
        // receiver and their softirqs on the same CPUs; without it the scheduler may place them differently per phase.
        _pin = args.Contains("--pin");

        // --no-bpf-stats: leave kernel.bpf_stats off, as a running agent does. bpf_stats reads the clock twice per
        // invocation and updates per-CPU counters, a cost the "nothing attached" phases never pay.
        _bpfStats = !args.Contains("--no-bpf-stats");

        // --floor adds a fifth configuration: a test fixture that only reads the clock and does one LRU lookup per
        // packet (bpf/test/clock_cost.bpf.c, ms_test_floor), attached where the sampler is. What it costs live is what
        // any per-flow design pays on this machine; what "armed" costs beyond it is ours.
        if (args.Contains("--floor"))
        {
            Configurations = [.. Configurations, FloorConfiguration];
        }

        // --ring adds the sampler as a long-running agent runs it: the look-back ring on (Agent:Lookback, on by
        // default), alone and with a run armed.
        if (args.Contains("--ring"))
        {
            Configurations = [.. Configurations, RingConfiguration, RingArmedConfiguration];
        }

        // --compare A.o[,B.o] adds other builds of the sampler (an older commit's bpf/out/millisampler.bpf.o), each
        // armed like this build's in the same rounds, so a change to the kernel path is judged live, phase beside phase.
        string comparePaths = ArgString(args, "--compare", "");
        foreach (var path in comparePaths.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!File.Exists(path))
            {
                Console.Error.WriteLine($"throughput: --compare {path}: no such file");
                return 2;
            }
            string name = ComparePrefix + Path.GetFileName(path);
            if (!CompareImages.TryAdd(name, File.ReadAllBytes(path)))
            {
                Console.Error.WriteLine($"throughput: --compare names {Path.GetFileName(path)} twice");
                return 2;
            }
            Configurations = [.. Configurations, name];
        }

        // --configs 1,3,5 keeps only those configurations (numbered as listed: 1 nothing attached, 2 disarmed,
        // 3 armed, 4 tcpdump, then --floor, --ring's two and each --compare object in that order); the first kept is the
        // ratios' base.
        string keep = ArgString(args, "--configs", "all");
        if (keep != "all")
        {
            var picked = new List<string>();
            foreach (var part in keep.Split(','))
            {
                if (!int.TryParse(part, NumberStyles.None, Inv, out int n) || n < 1 || n > Configurations.Length)
                {
                    Console.Error.WriteLine($"throughput: --configs {keep}: each must be a number 1..{Configurations.Length} ({string.Join("; ", Configurations.Select((c, i) => $"{i + 1} {c}"))})");
                    return 2;
                }
                picked.Add(Configurations[n - 1]);
            }
            Configurations = [.. picked.Distinct()];
        }
        if (!File.Exists("/usr/bin/iperf3") && !File.Exists("/usr/local/bin/iperf3"))
        {
            Console.Error.WriteLine("throughput: iperf3 is not installed (scripts/setup.sh installs it).");
            return 2;
        }

        Console.WriteLine($"# throughput benchmark, {Environment.ProcessorCount} CPUs, kernel {File.ReadAllText("/proc/sys/kernel/osrelease").Trim()}, " +
            $"clocksource {File.ReadAllText("/sys/devices/system/clocksource/clocksource0/current_clocksource").Trim()}, load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");
        Console.WriteLine($"# {rounds} rounds of {seconds} s per configuration, configurations interleaved and rotated each round{(_pin ? ", iperf3 client on CPU 0, server on CPU 1" : "")}{(_bpfStats ? "" : ", bpf_stats off")}");
        var workloads = only == "all" ? Workloads : Workloads.Where((w, i) => only.Split(',').Contains((i + 1).ToString(Inv))).ToArray();
        var results = new Dictionary<(string, string), Cell>();
        foreach (var w in workloads)
        {
            RunWorkload(w, rounds, seconds, prefix, results).GetAwaiter().GetResult();
        }

        Print(workloads, results, seconds);
        return 0;
    }

    private static async Task RunWorkload(Workload w, int rounds, int seconds, string prefix, Dictionary<(string, string), Cell> results)
    {
        await using var lab = NetworkLab.Create(prefix);
        var names = await lab.AddNamespacesAsync(["tx", "rx"]);
        foreach (var n in names)
        {
            lab.SetSysctl(n, "net.ipv6.conf.all.disable_ipv6", "1");
            lab.SetSysctl(n, "net.ipv6.conf.default.disable_ipv6", "1");
        }
        await lab.AddVethAsync(names[0], "eth0", names[1], "eth0");
        await lab.AddAddressAsync(names[0], "eth0", "198.18.0.1/24");
        await lab.AddAddressAsync(names[1], "eth0", "198.18.0.2/24");
        if (!w.Offloads)
        {
            var off = new Dictionary<string, bool> { ["tso"] = false, ["gso"] = false, ["gro"] = false };
            await lab.SetOffloadsAsync(names[0], "eth0", off);
            await lab.SetOffloadsAsync(names[1], "eth0", off);
        }

        var server = Process.Start(new ProcessStartInfo("ip", ["netns", "exec", names[1], "iperf3", "-s", "-B", "198.18.0.2", "--logfile", "/dev/null", .. (_pin ? new[] { "-A", "1" } : [])])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        try
        {
            await Task.Delay(500);
            for (int round = 0; round < rounds; round++)
            {
                var perRound = new Dictionary<string, double>();
                var cpuPerRound = new Dictionary<string, double>();
                for (int k = 0; k < Configurations.Length; k++)
                {
                    string config = Configurations[(k + round) % Configurations.Length];
                    var (value, bpf, cpuPerUnit) = await Phase(lab, names, w, config, seconds);
                    perRound[config] = value;
                    cpuPerRound[config] = cpuPerUnit;
                    var cell = CellOf(results, w.Name, config);
                    cell.Values.Add(value);
                    cell.CpuPerUnit.Add(cpuPerUnit);
                    if (bpf is { } b)
                    {
                        cell.Bpf.Add(b);
                    }
                    Console.Error.WriteLine($"{w.Name} round {round + 1} {config}: {value:F3} {w.Unit}");
                }
                foreach (var (config, v) in perRound)
                {
                    CellOf(results, w.Name, config).Ratios.Add(v / perRound[Configurations[0]]);
                    CellOf(results, w.Name, config).CpuRatios.Add(cpuPerRound[Configurations[0]] / cpuPerRound[config]);
                }
            }
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
        }
    }

    private static Cell CellOf(Dictionary<(string, string), Cell> results, string workload, string config)
    {
        if (!results.TryGetValue((workload, config), out var cell))
        {
            cell = new Cell();
            results[(workload, config)] = cell;
        }
        return cell;
    }

    private static async Task<(double Value, (double, double, double)? Bpf, double CpuPerUnit)> Phase(NetworkLab lab, IReadOnlyList<string> names, Workload w, string config, int seconds)
    {
        KernelSampler? tx = null, rx = null;
        Process? dump = null;
        int statsFd = -1;
        var floor = new List<IDisposable>();
        (int In, int Out) floorFds = (-1, -1);
        try
        {
            if (config == FloorConfiguration)
            {
                // One fixture object per hook, attached as the sampler's programs are (tcx, both ends, both directions).
                foreach (var (ns, direction) in new[] { (names[1], HookDirection.Ingress), (names[0], HookDirection.Egress), (names[1], HookDirection.Egress), (names[0], HookDirection.Ingress) })
                {
                    var obj = BpfObject.Open(File.ReadAllBytes(FloorObjectPath()), "clock_cost");
                    floor.Add(obj);
                    obj.Load();
                    int fd = obj.ProgramFd("ms_test_floor");
                    floor.Add(NetNs.Run(ns, () => HookAttachment.Attach("eth0", fd, direction, AttachMode.Tcx, 1)));
                    floorFds = floorFds.In < 0 ? (fd, -1) : floorFds.Out < 0 ? (floorFds.In, fd) : floorFds;
                }
                statsFd = _bpfStats ? LibBpf.EnableStats(LibBpf.StatsRunTime) : -1;
            }

            bool other = CompareImages.TryGetValue(config, out var otherImage);
            bool ring = config is RingConfiguration or RingArmedConfiguration;
            if (config is "attached, disarmed" or "armed, 1 ms bins" || other || ring)
            {
                var load = new SamplerLoadOptions
                {
                    MaxBins = (uint)(seconds * 1000 + 3000),
                    ObjectImage = otherImage,
                    Lookback = ring ? new LookbackRingOptions() : null,
                };
                var opts = new KernelSamplerOptions { Interfaces = ["eth0"], Load = load };
                rx = NetNs.Run(names[1], () => KernelSampler.Open(opts, new HostClock()));
                tx = NetNs.Run(names[0], () => KernelSampler.Open(opts, new HostClock()));
                statsFd = _bpfStats ? LibBpf.EnableStats(LibBpf.StatsRunTime) : -1;
                if (config is "armed, 1 ms bins" or RingArmedConfiguration || other)
                {
                    long start = new HostClock().NowTaiNs();
                    rx.Arm(start, 1_000_000, rx.MaxBins);
                    tx.Arm(start, 1_000_000, tx.MaxBins);
                }
            }
            else if (config == "tcpdump -s 96")
            {
                dump = Process.Start(new ProcessStartInfo("ip", ["netns", "exec", names[1], "tcpdump", "-i", "eth0", "-s", "96", "-w", "/dev/null", "-q"])
                {
                    RedirectStandardError = true,
                    RedirectStandardOutput = true,
                });
                await Task.Delay(500);
            }

            // "in": the receiver's ingress (the data arriving), "out": the sender's egress (the data leaving).
            (int In, int Out)? measured = !_bpfStats ? null : rx is not null ? (rx.Object.IngressProgramFd, tx!.Object.EgressProgramFd) : floorFds.In >= 0 ? floorFds : null;
            var before = measured is { } m0 ? (Stats(m0.In), Stats(m0.Out)) : default;
            var busyBefore = BusyCpuSeconds();
            var sw = Stopwatch.StartNew();
            string[] client = w.Udp
                ? ["iperf3", "-c", "198.18.0.2", "-u", "-b", "0", "-l", "64", "-t", seconds.ToString(Inv), "-J"]
                : ["iperf3", "-c", "198.18.0.2", "-t", seconds.ToString(Inv), "-J"];
            if (_pin)
            {
                client = [.. client, "-A", "0"];
            }
            var r = await lab.ExecAsync(names[0], client, timeout: TimeSpan.FromSeconds(seconds + 30));
            double wall = sw.Elapsed.TotalSeconds;
            double busy = BusyCpuSeconds() - busyBefore;
            (double, double, double)? bpf = null;
            if (measured is { } m1)
            {
                var after = (Stats(m1.In), Stats(m1.Out));
                ulong inRuns = after.Item1.Runs - before.Item1.Runs, outRuns = after.Item2.Runs - before.Item2.Runs;
                ulong ns = after.Item1.RunNs - before.Item1.RunNs + after.Item2.RunNs - before.Item2.RunNs;
                bpf = ((after.Item1.RunNs - before.Item1.RunNs) / (double)Math.Max(1, inRuns),
                    (after.Item2.RunNs - before.Item2.RunNs) / (double)Math.Max(1, outRuns),
                    ns / (wall * Environment.ProcessorCount * 1e9));
            }
            var (rate, units) = Received(r.StdOut, w);
            return (rate, bpf, units > 0 ? busy * 1e9 / units : double.NaN);
        }
        finally
        {
            if (statsFd >= 0)
            {
                Libc.Close(statsFd);
            }
            tx?.Dispose();
            rx?.Dispose();

            // Links before their objects.
            for (int i = floor.Count - 1; i >= 0; i--)
            {
                floor[i].Dispose();
            }
            if (dump is not null)
            {
                dump.Kill();
                await dump.WaitForExitAsync();
            }
        }
    }

    /// <summary>
    /// From iperf3's JSON: the rate received, Gbit/s (TCP) or Mpps (UDP), and what was received, bytes (TCP) or
    /// datagrams (UDP).
    /// </summary>
    private static (double Rate, double Units) Received(string json, Workload w)
    {
        using var doc = JsonDocument.Parse(json);
        var end = doc.RootElement.GetProperty("end");
        if (!w.Udp)
        {
            var received = end.GetProperty("sum_received");
            return (received.GetProperty("bits_per_second").GetDouble() / 1e9, received.GetProperty("bytes").GetDouble());
        }
        var sum = end.GetProperty("sum");
        double packets = sum.GetProperty("packets").GetDouble() - sum.GetProperty("lost_packets").GetDouble();
        return (packets / sum.GetProperty("seconds").GetDouble() / 1e6, packets);
    }

    /// <summary>
    /// CPU time spent working, all CPUs, from /proc/stat: user, nice, system, irq and softirq. Idle, I/O wait and
    /// steal (time the hypervisor gave this VM's CPUs to someone else) are left out, so a host that steals more in
    /// one phase than another does not make that phase look cheaper or dearer, as it does throughput.
    /// </summary>
    private static double BusyCpuSeconds()
    {
        string cpu = File.ReadLines("/proc/stat").First(l => l.StartsWith("cpu ", StringComparison.Ordinal));
        var f = cpu.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(x => double.Parse(x, Inv)).ToArray();
        double ticks = f[0] + f[1] + f[2] + f[5] + f[6];
        return ticks / 100.0; // USER_HZ
    }

    private static unsafe ProgramStats Stats(int progFd)
    {
        LibBpf.ProgInfo info = default;
        uint len = (uint)sizeof(LibBpf.ProgInfo);
        LibBpf.ObjGetInfoByFd(progFd, &info, &len);
        return new ProgramStats(info.RunTimeNs, info.RunCount);
    }

    /// <summary>
    /// A distribution-free 95 % confidence interval of the median: the order statistics of ranks n/2 − 0.98·√n and
    /// n/2 + 1 + 0.98·√n (the normal approximation to the binomial), printed from 12 rounds on; with fewer it is
    /// nearly the whole range.
    /// </summary>
    private static string MedianInterval(List<double> values, string format)
    {
        int n = values.Count;
        if (n < 12)
        {
            return "";
        }
        var s = values.Order().ToList();

        // Ranks (1-based) j = ⌊n/2 − 0.98√n⌋ and k = ⌈n/2 + 1 + 0.98√n⌉.
        int lo = Math.Max(0, (int)Math.Floor((n / 2.0) - (0.98 * Math.Sqrt(n))) - 1);
        int hi = Math.Min(n - 1, (int)Math.Ceiling((n / 2.0) + 1 + (0.98 * Math.Sqrt(n))) - 1);
        return $"; median's 95 % interval {s[lo].ToString(format, Inv)}–{s[hi].ToString(format, Inv)}";
    }

    private static double Median(IEnumerable<double> values)
    {
        var s = values.Order().ToList();
        return s.Count == 0 ? double.NaN : s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2;
    }

    /// <summary>One row per configuration, one column per workload; the first configuration is the ratios' base.</summary>
    private static void PrintTable(Workload[] workloads, Dictionary<(string, string), Cell> results, Func<Workload, Cell, bool, string> cell)
    {
        Console.WriteLine("| configuration | " + string.Join(" | ", workloads.Select(w => w.Name)) + " |");
        Console.WriteLine("|---|" + string.Concat(workloads.Select(_ => "---|")));
        foreach (var config in Configurations)
        {
            var cells = workloads.Select(w => cell(w, results[(w.Name, config)], config == Configurations[0]));
            Console.WriteLine($"| {config} | " + string.Join(" | ", cells) + " |");
        }
    }

    /// <summary>"median ratio × (median value; rounds lowest–highest; the median's interval)".</summary>
    private static string RatioCell(List<double> ratios, List<double> values, string ratioFormat, string valueFormat) =>
        $"{Median(ratios).ToString(ratioFormat, Inv)} × ({Median(values).ToString(valueFormat, Inv)}; rounds {ratios.Min().ToString(ratioFormat, Inv)}–{ratios.Max().ToString(ratioFormat, Inv)}{MedianInterval(ratios, ratioFormat)})";

    private static void Print(Workload[] workloads, Dictionary<(string, string), Cell> results, int seconds)
    {
        Console.WriteLine();
        PrintTable(workloads, results, (w, c, isBase) => isBase
            ? $"{Median(c.Values).ToString(w.Udp ? "F3" : "F2", Inv)} {w.Unit}"
            : RatioCell(c.Ratios, c.Values, "F2", w.Udp ? "F3" : "F2"));

        Console.WriteLine();
        Console.WriteLine("Ratios are medians of the per-round ratios to the same round's \"nothing attached\"; in brackets the median value and the");
        Console.WriteLine("lowest and highest per-round ratio, and from 12 rounds on a 95 % confidence interval of the median ratio (order statistics):");
        Console.WriteLine("a target inside that interval is neither shown met nor shown missed by this run.");
        // The sampler against tcpdump, round by round (both ran in every round, against the same conditions).
        if (Configurations.Contains("armed, 1 ms bins") && Configurations.Contains("tcpdump -s 96"))
        {
            Console.WriteLine();
            var paired = workloads.Select(w =>
            {
                var armed = results[(w.Name, "armed, 1 ms bins")].Ratios;
                var dump = results[(w.Name, "tcpdump -s 96")].Ratios;
                var r = armed.Zip(dump, (a, d) => a / d).ToList();
                return $"{w.Name} {Median(r):F2} × (rounds {r.Min():F2}–{r.Max():F2}{MedianInterval(r, "F2")})";
            });
            Console.WriteLine("armed over tcpdump, per round: " + string.Join("; ", paired));
        }

        Console.WriteLine();
        Console.WriteLine("CPU per unit received: busy time of all CPUs (user, system, irq, softirq; steal and idle left out) per byte (TCP) or per");
        Console.WriteLine("datagram (UDP); the ratio is \"nothing attached\"'s CPU per unit over this configuration's, median of the rounds (1.00: no");
        Console.WriteLine("extra CPU; 0.95: 5 % more CPU per unit, what would cost 5 % of throughput where the CPU is the limit), then the rounds' range.");
        Console.WriteLine();
        PrintTable(workloads, results, (w, c, isBase) => isBase
            ? $"{Median(c.CpuPerUnit).ToString(w.Udp ? "F0" : "F3", Inv)} {(w.Udp ? "ns per datagram" : "ns per byte")}"
            : RatioCell(c.CpuRatios, c.CpuPerUnit, "F3", w.Udp ? "F0" : "F3"));

        if (!_bpfStats)
        {
            return;
        }

        Console.WriteLine();
        Console.WriteLine("bpf_stats (run_time_ns / run_cnt), median over rounds: ns per invocation, and the programs' run time as a share of all CPU time in the phase");
        Console.WriteLine();
        Console.WriteLine("| state | " + string.Join(" | ", workloads.Select(w => w.Name)) + " |");
        Console.WriteLine("|---|" + string.Concat(workloads.Select(_ => "---|")));
        foreach (var config in Configurations.Where(c => c is "attached, disarmed" or "armed, 1 ms bins" or FloorConfiguration or RingConfiguration or RingArmedConfiguration || CompareImages.ContainsKey(c)))
        {
            var cells = workloads.Select(w =>
            {
                var b = results[(w.Name, config)].Bpf;
                return $"in {Median(b.Select(x => x.IngressNs)):F0} ns, out {Median(b.Select(x => x.EgressNs)):F0} ns, {Median(b.Select(x => x.CpuShare)):P1} CPU";
            });
            Console.WriteLine($"| {config} | " + string.Join(" | ", cells) + " |");
        }
    }

    private static string FloorObjectPath()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Millisampler.sln")))
        {
            dir = dir.Parent;
        }

        return dir is null
            ? throw new InvalidOperationException("--floor: run from inside the checkout (it loads bpf/out/test/clock_cost.bpf.o)")
            : Path.Combine(dir.FullName, "bpf", "out", "test", "clock_cost.bpf.o");
    }

    private static int ArgInt(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], Inv) : fallback;
    }

    private static string ArgString(string[] args, string name, string fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
    }
}
