using System.Diagnostics;
using System.Net;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator;
using Millisampler.Coordinator.Agents;
using Millisampler.Coordinator.Api;
using Millisampler.Coordinator.Captures;
using Millisampler.Lab.Certificates;
using Millisampler.ServiceDefaults.Security;

namespace Millisampler.Benchmarks;

/// <summary>
/// The coordinator against a rack of in-process fake agents over real gRPC on loopback, in the plaintext mode
/// (<c>Security:Insecure=true</c>, h2c) and with mutual TLS (a throw-away CA: coordinator, agent and engineer
/// certificates as the lab makes them), the two modes interleaved A B, B A, ... in one run:
/// (1) ScheduleRun fan-out to every agent on new connections (TCP and TLS handshakes included: a fresh client pool
/// per round), (2) the same fan-out on the coordinator's open connections, (3) StartCapture → analysed result, and
/// of it the time from the last bin to the result at the client, (4) memory after a series of captures.
/// Options: --hosts N (default 92), --rounds N (warm fan-out rounds, default 50), --warm-up N (warm rounds not
/// measured first, default 200), --cold-rounds N (default 10),
/// --captures N (default 20), --bins N (default 100), --bin-width-us N (default 1000), --pairs N (default 3),
/// --modes plaintext,tls (default both). The fake agents live in the same process, so working set and GC heap
/// include theirs.
/// </summary>
public static class CoordinatorBenchmark
{
    private const string Plaintext = "plaintext";
    private const string Tls = "tls";

    /// <summary>What one mode measured in one pair.</summary>
    private sealed record Figures(List<double> ColdFanOut, List<double> WarmFanOut, List<double> BeyondRun, List<double> Lead,
        List<double> AfterLastBin, double HeapBeforeMb, double HeapAfterMb, double WorkingSetAfterMb);

    /// <summary>Runs the measurements and prints markdown.</summary>
    public static int Run(string[] args) => RunAsync(args).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(string[] args)
    {
        int hosts = BenchArgs.Int(args, "--hosts", 92);
        int rounds = BenchArgs.Int(args, "--rounds", 50);
        int coldRounds = BenchArgs.Int(args, "--cold-rounds", 10);
        // Warm fan-out rounds run and thrown away before the measured ones. A coordinator runs for days, so the figure
        // that matters is the steady state: with 5 rounds the p99 held the JIT's tier-up of the fan-out path (61-66 ms
        // against 29-48 ms after 200 rounds, 2026-12-03).
        int warmUp = BenchArgs.Int(args, "--warm-up", 200);
        int captures = BenchArgs.Int(args, "--captures", 20);
        int pairs = BenchArgs.Int(args, "--pairs", 3);
        uint bins = (uint)BenchArgs.Int(args, "--bins", 100);
        long binWidthNs = BenchArgs.Int(args, "--bin-width-us", 1000) * 1000L;
        string[] modes = BenchArgs.String(args, "--modes", $"{Plaintext},{Tls}").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (modes.Length == 0 || modes.Any(m => m is not (Plaintext or Tls)))
        {
            Console.Error.WriteLine($"--modes takes {Plaintext} and/or {Tls}, comma-separated");
            return 2;
        }

        string dir = Directory.CreateTempSubdirectory("ms-bench-coordinator-").FullName;
        try
        {
            using LabCertificates pki = LabCertificates.Create(Path.Combine(dir, "pki"));
            var results = modes.ToDictionary(m => m, _ => new List<Figures>(), StringComparer.Ordinal);
            for (int pair = 0; pair < pairs; pair++)
            {
                // A B, then B A: neither mode always runs on the warmer process.
                foreach (string mode in pair % 2 == 0 ? modes : modes.Reverse())
                {
                    Console.Error.WriteLine($"pair {pair + 1}/{pairs}: {mode}");
                    results[mode].Add(await MeasureAsync(mode == Tls ? pki : null, Path.Combine(dir, $"{mode}-{pair}.db"),
                        hosts, rounds, coldRounds, captures, binWidthNs, bins, warmUp));
                }
            }

            Print(results, modes, hosts, rounds, coldRounds, captures, bins, binWidthNs, pairs);
            Console.WriteLine();
            Console.WriteLine($"command: dotnet run -c Release --project bench/Millisampler.Benchmarks -- coordinator {string.Join(' ', args)}");
            return 0;
        }
        finally
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>One coordinator and one rack of fake agents in one mode (TLS when <paramref name="pki"/> is given), measured and stopped.</summary>
    private static async Task<Figures> MeasureAsync(LabCertificates? pki, string databasePath, int hosts, int rounds, int coldRounds,
        int captures, long binWidthNs, uint bins, int warmUp)
    {
        bool secure = pki is not null;
        string scheme = secure ? "https" : "http";
        await using CoordinatorBenchmarkAgents agents = await CoordinatorBenchmarkAgents.StartAsync(hosts, pki);
        WebApplication app = CoordinatorApp.Build(
        [
            .. secure ? pki!.Coordinator(IPAddress.Loopback).AsSettings() : ["--Security:Insecure=true"],
            "--grpc-url", $"{scheme}://127.0.0.1:0",
            "--http-url", $"{scheme}://127.0.0.1:0",
            "--db", databasePath,
            "--Coordinator:Captures:CollectGrace=00:00:00.020",
            // The benchmark's own operator starts captures back to back: no per-caller rate limit here.
            "--Coordinator:RateLimits:CapturesPerCallerPerMinute=100000",
            "--Coordinator:RateLimits:CapturesPerRackPerMinute=100000",
            "--Logging:LogLevel:Default=Warning",
            "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Warning",
            "--Logging:LogLevel:Microsoft.Extensions.Diagnostics.HealthChecks=Error",
        ]);
        var channels = new List<GrpcChannel>();
        try
        {
            await app.StartAsync();
            int grpcPort = app.Services.GetRequiredService<KestrelEndpoints>().GrpcEndPoint!.Port;
            string url = $"{scheme}://127.0.0.1:{grpcPort}";
            foreach ((string host, _, string address) in agents.Agents)
            {
                // Each agent registers as itself: with TLS, over a channel presenting its own certificate.
                GrpcChannel agentChannel = secure
                    ? GrpcChannel.ForAddress(url, new GrpcChannelOptions { HttpHandler = new SocketsHttpHandler().UseMutualTls(CoordinatorBenchmarkAgents.Source(agents.Certificates[host]), MutualTls.RequireRole(Roles.Coordinator)) })
                    : GrpcChannel.ForAddress(url);
                channels.Add(agentChannel);
                await new MembershipService.MembershipServiceClient(agentChannel).RegisterAsync(
                    new RegisterRequest { Host = host, Rack = agents.Rack, Address = address, Clock = new ClockState { Synchronized = true } });
            }

            GrpcChannel engineer = secure
                ? GrpcChannel.ForAddress(url, new GrpcChannelOptions { HttpHandler = new SocketsHttpHandler().UseMutualTls(CoordinatorBenchmarkAgents.Source(pki!.Engineer("bench", Roles.Operator)), MutualTls.RequireRole(Roles.Coordinator)) })
                : GrpcChannel.ForAddress(url);
            channels.Add(engineer);
            var coordinator = new CoordinatorService.CoordinatorServiceClient(engineer);

            // Let the registration probes (GetInfo) open every agent's connection and measure its round trip.
            await Task.Delay(1000);
            List<double> cold = await MeasureColdFanOutAsync(app.Services, agents, coldRounds, binWidthNs, bins);
            List<double> warm = await MeasureFanOutAsync(app.Services.GetRequiredService<RunScheduler>(), app.Services, agents, rounds, binWidthNs, bins, "warm", warmUp);
            (double heapBefore, _) = Memory();
            (List<double> beyond, List<double> lead, List<double> afterLastBin) = await MeasureCapturesAsync(app.Services, coordinator, agents.Rack, captures, binWidthNs, bins);
            (double heapAfter, double wsAfter) = Memory();
            return new Figures(cold, warm, beyond, lead, afterLastBin, heapBefore, heapAfter, wsAfter);
        }
        finally
        {
            foreach (GrpcChannel c in channels)
            {
                c.Dispose();
            }

            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    /// <summary>Fan-outs each through a new client pool: every agent's connection (and TLS handshake) is made inside the timing.</summary>
    private static async Task<List<double>> MeasureColdFanOutAsync(IServiceProvider services, CoordinatorBenchmarkAgents agents, int rounds,
        long binWidthNs, uint bins)
    {
        var all = new List<double>();
        for (int i = 0; i < rounds; i++)
        {
            using var pool = new AgentClientPool(services.GetRequiredService<IOptions<SecurityOptions>>(), services);
            RunScheduler scheduler = ActivatorUtilities.CreateInstance<RunScheduler>(services, pool);
            all.AddRange(await MeasureFanOutAsync(scheduler, services, agents, 1, binWidthNs, bins, "cold", warmUp: 0));
        }

        return all;
    }

    private static async Task<List<double>> MeasureFanOutAsync(RunScheduler scheduler, IServiceProvider services, CoordinatorBenchmarkAgents agents,
        int rounds, long binWidthNs, uint bins, string label, int warmUp = 5)
    {
        TaiClock clock = services.GetRequiredService<TaiClock>();
        AgentTarget[] targets = [.. agents.Agents.Select(a => new AgentTarget(a.Host, a.Address))];
        var ms = new List<double>();
        for (int i = -warmUp; i < rounds; i++)
        {
            var request = new ScheduleRunRequest
            {
                RunId = $"fanout-{label}-{i}-{Guid.NewGuid():N}",
                StartTaiNs = StartInstantPlanner.ChooseStart(clock.NowNs(), 5_000_000_000, binWidthNs),
                BinWidthNs = binWidthNs,
                Bins = bins,
                Requester = "bench",
            };
            long t0 = Stopwatch.GetTimestamp();
            IReadOnlyList<ScheduleOutcome> outcomes = await scheduler.ScheduleAllAsync(targets, request, null, CancellationToken.None);
            double elapsed = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            if (outcomes.Any(o => o.Kind != HostOutcomeKind.HostOutcomeScheduled))
            {
                throw new InvalidOperationException("a fake agent did not accept ScheduleRun: " + outcomes.First(o => o.Kind != HostOutcomeKind.HostOutcomeScheduled).Reason);
            }

            if (i >= 0)
            {
                ms.Add(elapsed);
            }
        }

        return ms;
    }

    private static async Task<(List<double> BeyondRun, List<double> Lead, List<double> AfterLastBin)> MeasureCapturesAsync(IServiceProvider services,
        CoordinatorService.CoordinatorServiceClient client, string rack, int captures, long binWidthNs, uint bins)
    {
        TaiClock clock = services.GetRequiredService<TaiClock>();
        var beyondRun = new List<double>();
        var lead = new List<double>();
        var afterLastBin = new List<double>();
        double runMs = bins * binWidthNs / 1e6;
        for (int i = 0; i < captures; i++)
        {
            long requestedTai = clock.NowNs();
            long t0 = Stopwatch.GetTimestamp();
            Capture started = await client.StartCaptureAsync(new StartCaptureRequest { Rack = rack, BinWidthNs = binWidthNs, Bins = bins, WaitIfBusy = true });
            using (AsyncServerStreamingCall<CaptureProgress> watch = client.WatchCapture(new WatchCaptureRequest { CaptureId = started.CaptureId }))
            {
                await foreach (CaptureProgress _ in watch.ResponseStream.ReadAllAsync())
                {
                }
            }

            double total = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            long doneTai = clock.NowNs();
            Capture done = await client.GetCaptureAsync(new GetCaptureRequest { CaptureId = started.CaptureId });
            if (done.State != CaptureState.Analysed || done.HostsCovered != done.HostsRequested)
            {
                throw new InvalidOperationException($"capture {done.CaptureId} ended {done.State}, {done.HostsCovered}/{done.HostsRequested} hosts: {done.Detail}");
            }

            beyondRun.Add(total - runMs);
            lead.Add((done.StartTaiNs - requestedTai) / 1e6);
            afterLastBin.Add((doneTai - (done.StartTaiNs + (done.Bins * done.BinWidthNs))) / 1e6);
        }

        return (beyondRun, lead, afterLastBin);
    }

    private static void Print(Dictionary<string, List<Figures>> results, string[] modes, int hosts, int rounds, int coldRounds, int captures,
        uint bins, long binWidthNs, int pairs)
    {
        Console.WriteLine($"## Coordinator: {hosts} fake agents over loopback gRPC, {Environment.ProcessorCount} cores, {pairs} pairs of runs (modes interleaved)");
        Console.WriteLine();
        Console.WriteLine("Each cell: the median over the pairs of that pair's percentile, with the range over the pairs in brackets; ratio = TLS / plaintext, pair by pair, median.");
        Console.WriteLine();
        bool both = modes.Length == 2;
        Console.WriteLine($"| measurement | {string.Join(" | ", modes.Select(Label))} |{(both ? " ratio |" : "")}");
        Console.WriteLine($"|---|{string.Join("", modes.Select(_ => "---|"))}{(both ? "---|" : "")}");
        double runMs = bins * binWidthNs / 1e6;
        Row($"ScheduleRun fan-out to {hosts} agents, new connections (handshakes included; {coldRounds} rounds), p50", f => f.ColdFanOut, 50);
        Row("… p99", f => f.ColdFanOut, 99);
        Row($"ScheduleRun fan-out to {hosts} agents, open connections ({rounds} rounds), p50", f => f.WarmFanOut, 50);
        Row("… p99", f => f.WarmFanOut, 99);
        Row($"StartCapture → analysed, beyond the run's {runMs:F0} ms ({captures} captures of {bins} × {binWidthNs / 1e6:0.###} ms), p50", f => f.BeyondRun, 50);
        Row("… of which lead time (request → start instant), p50", f => f.Lead, 50);
        Row("… of which last bin → analysed result at the client (grace 20 ms, GetRun from every host, merge, analysis, SQLite), p50", f => f.AfterLastBin, 50);
        Row("… last bin → result, p99", f => f.AfterLastBin, 99);
        Console.WriteLine($"| GC heap after {captures} captures (coordinator + agents, one process), MB | {string.Join(" | ", modes.Select(m => Median(results[m].Select(f => f.HeapAfterMb)).ToString("F1", System.Globalization.CultureInfo.InvariantCulture)))} |{(both ? " |" : "")}");
        Console.WriteLine($"| working set after, MB | {string.Join(" | ", modes.Select(m => Median(results[m].Select(f => f.WorkingSetAfterMb)).ToString("F1", System.Globalization.CultureInfo.InvariantCulture)))} |{(both ? " |" : "")}");

        void Row(string name, Func<Figures, List<double>> series, double percentile)
        {
            var cells = modes.Select(m =>
            {
                double[] perPair = [.. results[m].Select(f => BenchArgs.Percentile(series(f), percentile))];
                return $"{Median(perPair):F2} ms ({perPair.Min():F2}–{perPair.Max():F2})";
            });
            string ratio = "";
            if (both)
            {
                double[] ratios = [.. results[modes[0]].Zip(results[modes[1]], (a, b) =>
                {
                    double pa = BenchArgs.Percentile(series(a), percentile);
                    double pb = BenchArgs.Percentile(series(b), percentile);
                    return modes[0] == Tls ? pa / pb : pb / pa;
                })];
                ratio = $" {Median(ratios):F2} × |";
            }

            Console.WriteLine($"| {name} | {string.Join(" | ", cells)} |{ratio}");
        }
    }

    private static string Label(string mode) => mode == Tls ? "mutual TLS" : "plaintext (h2c, Security:Insecure)";

    private static double Median(IEnumerable<double> values)
    {
        double[] v = [.. values.Order()];
        return v.Length == 0 ? double.NaN : v.Length % 2 == 1 ? v[v.Length / 2] : (v[(v.Length / 2) - 1] + v[v.Length / 2]) / 2;
    }

    private static (double HeapMb, double WorkingSetMb) Memory()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using Process self = Process.GetCurrentProcess();
        return (GC.GetTotalMemory(forceFullCollection: true) / 1048576.0, self.WorkingSet64 / 1048576.0);
    }
}
