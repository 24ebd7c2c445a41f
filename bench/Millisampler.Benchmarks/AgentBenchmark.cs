using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Grpc.Net.Client;
using Millisampler.Contracts.V1;
using Millisampler.Lab;

namespace Millisampler.Benchmarks;

/// <summary>
/// The agent as it runs: `millisampler-agent serve` as a child process in a lab namespace (real eBPF program on a veth),
/// driven over gRPC. Measures the process's RSS and CPU idle between runs and during 100 µs runs, the time from
/// ScheduleRun received to the kernel armed (from the agent's own log, event 2303), GetRun latency for a 2,000-bin
/// run, and the bytes each stored run takes. Needs root. Options: --runs N (default 20), --idle-seconds N (default 10).
/// </summary>
public static partial class AgentBenchmark
{
    private const int Port = 7300;
    private const long ClockTicksPerSecond = 100; // USER_HZ on Linux

    /// <summary>Runs the measurements and prints markdown.</summary>
    public static int Run(string[] args)
    {
        int runs = BenchArgs.Int(args, "--runs", 20);
        int idleSeconds = BenchArgs.Int(args, "--idle-seconds", 10);
        return RunAsync(runs, idleSeconds).GetAwaiter().GetResult();
    }

    private static async Task<int> RunAsync(int runs, int idleSeconds)
    {
        await using var lab = NetworkLab.Create();
        var ns = await lab.AddNamespacesAsync(["tx", "rx"]);
        await lab.AddVethAsync(ns[0], "eth0", ns[1], "eth0");
        await lab.AddAddressAsync(ns[0], "eth0", "198.18.0.1/24");
        await lab.AddAddressAsync(ns[1], "eth0", "198.18.0.2/24");
        string store = Directory.CreateTempSubdirectory("ms-bench-agent-").FullName;
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[]
                 {
                     "netns", "exec", ns[1], "dotnet", Path.Combine(AppContext.BaseDirectory, "millisampler-agent.dll"), "serve",
                     "--urls", $"http://127.0.0.1:{Port}", "--Security:Insecure=true", "--Agent:Interfaces:0=eth0", "--Agent:ClockErrorSource=SharedHostClock",
                     "--Agent:Schedule:Enabled=false", $"--Agent:RunStore:Directory={store}",
                     "--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:Millisampler=Information",
                 })
        {
            psi.ArgumentList.Add(a);
        }

        using var agent = Process.Start(psi)!;
        var armDelaysUs = new List<double>();
        agent.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line && ArmedLine().Match(line) is { Success: true } m)
            {
                lock (armDelaysUs)
                {
                    armDelaysUs.Add(double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture));
                }
            }
        };
        agent.BeginOutputReadLine();
        _ = agent.StandardError.ReadToEndAsync();
        try
        {
            using var channel = ChannelInto(ns[1], Port);
            var client = new AgentService.AgentServiceClient(channel);
            var info = await WaitServingAsync(client);
            Console.WriteLine($"agent: {info.AttachMode}, clock {info.Clock.Source}, {info.CpuCount} CPUs, max {info.MaxBins} bins; pid {agent.Id}");

            // Warm-up (JIT, connections): one run of each width, not counted.
            foreach (long width in new[] { 10_000_000L, 1_000_000L, 100_000L })
            {
                await ScheduleAndFetchAsync(client, $"warm-{width}", width, 100, leadMs: 2000);
            }

            lock (armDelaysUs)
            {
                armDelaysUs.Clear();
            }

            var idleBefore = ProcStat.Read(agent.Id);
            await Task.Delay(TimeSpan.FromSeconds(idleSeconds));
            var idleAfter = ProcStat.Read(agent.Id);

            var getRunMs = new List<double>();
            var runCpu = new List<double>();
            var runWall = new List<double>();
            long rssPeakKb = 0;
            for (int i = 0; i < runs; i++)
            {
                var before = ProcStat.Read(agent.Id);
                var sw = Stopwatch.StartNew();
                await ScheduleAndFetchAsync(client, $"bench-{i}", 100_000, 2000, leadMs: 300);
                runWall.Add(sw.Elapsed.TotalMilliseconds);
                var after = ProcStat.Read(agent.Id);
                runCpu.Add((after.CpuTicks - before.CpuTicks) * 1000.0 / ClockTicksPerSecond);
                rssPeakKb = Math.Max(rssPeakKb, after.RssKb);

                // A stored 2,000-bin run: GetRun as a coordinator calls it after the run.
                var g = Stopwatch.StartNew();
                var run = await client.GetRunAsync(new GetRunRequest { RunId = $"bench-{i}" }, deadline: DateTime.UtcNow.AddSeconds(10));
                getRunMs.Add(g.Elapsed.TotalMilliseconds);
                if (run.BinsRecorded != 2000)
                {
                    throw new InvalidOperationException($"run {run.RunId}: {run.Status}, {run.BinsRecorded} bins");
                }
            }

            var files = Directory.GetFiles(store, "*.run").Where(f => Path.GetFileName(f).Contains("bench-", StringComparison.Ordinal)).Select(f => new FileInfo(f).Length).ToList();
            double idleCpuPercent = 100.0 * (idleAfter.CpuTicks - idleBefore.CpuTicks) / ClockTicksPerSecond / idleSeconds;
            Console.WriteLine();
            Console.WriteLine("| measure | value |");
            Console.WriteLine("| --- | --- |");
            Console.WriteLine($"| RSS idle between runs | {idleAfter.RssKb / 1024.0:F1} MiB |");
            Console.WriteLine($"| CPU idle between runs | {idleCpuPercent:F2} % of one core over {idleSeconds} s |");
            Console.WriteLine($"| RSS during/after 100 µs runs (peak) | {rssPeakKb / 1024.0:F1} MiB |");
            Console.WriteLine($"| CPU per 100 µs × 2,000 run (schedule → fetched, {runWall.Average():F0} ms wall) | median {Median(runCpu):F0} ms, max {runCpu.Max():F0} ms (10 ms resolution) |");
            lock (armDelaysUs)
            {
                Console.WriteLine($"| ScheduleRun received → armed ({armDelaysUs.Count} runs) | median {Median(armDelaysUs) / 1000:F2} ms, p90 {Percentile(armDelaysUs, 0.9) / 1000:F2} ms, max {armDelaysUs.Max() / 1000:F2} ms |");
            }

            Console.WriteLine($"| GetRun of a stored 2,000-bin run ({getRunMs.Count} calls) | median {Median(getRunMs):F2} ms, p90 {Percentile(getRunMs, 0.9):F2} ms |");
            Console.WriteLine($"| bytes per stored 100 µs × 2,000 run (idle link) | median {Median(files.Select(f => (double)f).ToList()):F0} B |");
            return 0;
        }
        finally
        {
            if (!agent.HasExited)
            {
                using (var kill = Process.Start("kill", ["-TERM", agent.Id.ToString(CultureInfo.InvariantCulture)]))
                {
                    await kill.WaitForExitAsync();
                }

                if (!agent.WaitForExit(TimeSpan.FromSeconds(20)))
                {
                    agent.Kill(entireProcessTree: true);
                }
            }
            Directory.Delete(store, recursive: true);
        }
    }

    /// <summary>Schedules a run <paramref name="leadMs"/> ahead (under ArmLead, so the agent arms at once) and waits for it.</summary>
    private static async Task ScheduleAndFetchAsync(AgentService.AgentServiceClient client, string runId, long widthNs, uint bins, int leadMs)
    {
        long start = TaiClock.FromNow(TimeSpan.FromMilliseconds(leadMs));
        await client.ScheduleRunAsync(new ScheduleRunRequest { RunId = runId, StartTaiNs = start, BinWidthNs = widthNs, Bins = bins, Requester = "bench" });
        await client.GetRunAsync(new GetRunRequest { RunId = runId }, deadline: DateTime.UtcNow.AddSeconds(60));
    }

    private static async Task<AgentInfo> WaitServingAsync(AgentService.AgentServiceClient client)
    {
        var until = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                return await client.GetInfoAsync(new GetInfoRequest(), deadline: DateTime.UtcNow.AddSeconds(2));
            }
            catch (Grpc.Core.RpcException) when (DateTime.UtcNow < until)
            {
                await Task.Delay(200);
            }
        }
    }

    /// <summary>A channel whose connections are opened inside <paramref name="ns"/>, where the agent listens on loopback.</summary>
    private static GrpcChannel ChannelInto(string ns, int port) =>
        GrpcChannel.ForAddress($"http://127.0.0.1:{port}", new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                ConnectCallback = async (_, ct) =>
                {
                    var socket = NetNs.Run(ns, () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true });
                    await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), ct);
                    return new NetworkStream(socket, ownsSocket: true);
                },
            },
        });

    private static double Median(List<double> values) => Percentile(values, 0.5);

    private static double Percentile(List<double> values, double p)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToList();
        return sorted[(int)Math.Min(sorted.Count - 1, Math.Floor(p * sorted.Count))];
    }


    [GeneratedRegex(@"Run \S+ armed (\d+) us after ScheduleRun was received")]
    private static partial Regex ArmedLine();

    /// <summary>CPU time (utime + stime, clock ticks) and resident set of a process, from /proc.</summary>
    private readonly record struct ProcStat(long CpuTicks, long RssKb)
    {
        public static ProcStat Read(int pid)
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            long cpu = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            string? rss = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            long rssKb = rss is null ? 0 : long.Parse(rss.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
            return new ProcStat(cpu, rssKb);
        }
    }
}
