using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator;
using Millisampler.Coordinator.Api;
using Millisampler.Coordinator.Captures;

namespace Millisampler.Benchmarks;

/// <summary>
/// The coordinator against a rack of in-process fake agents over real gRPC on loopback:
/// (1) ScheduleRun fan-out to every agent, (2) StartCapture → analysed result beyond the run's own length for short
/// captures, (3) memory after a series of captures. Options: --hosts N (default 92), --rounds N (fan-out rounds,
/// default 50), --captures N (default 20), --bins N (default 100), --bin-width-us N (default 1000).
/// The fake agents live in the same process, so working set and GC heap include theirs; the baseline line
/// (agents and coordinator started, before any capture) shows how much of it they are.
/// </summary>
public static class CoordinatorBenchmark
{
    /// <summary>Runs the three measurements and prints markdown.</summary>
    public static int Run(string[] args) => RunAsync(args).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(string[] args)
    {
        int hosts = BenchArgs.Int(args, "--hosts", 92);
        int rounds = BenchArgs.Int(args, "--rounds", 50);
        int captures = BenchArgs.Int(args, "--captures", 20);
        uint bins = (uint)BenchArgs.Int(args, "--bins", 100);
        long binWidthNs = BenchArgs.Int(args, "--bin-width-us", 1000) * 1000L;

        string dir = Directory.CreateTempSubdirectory("ms-bench-coordinator-").FullName;
        await using CoordinatorBenchmarkAgents agents = await CoordinatorBenchmarkAgents.StartAsync(hosts);
        WebApplication app = CoordinatorApp.Build(
        [
            "--Security:Insecure=true",
            "--grpc-url", "http://127.0.0.1:0",
            "--http-url", "http://127.0.0.1:0",
            "--db", Path.Combine(dir, "captures.db"),
            "--Coordinator:Captures:CollectGrace=00:00:00.020",
            "--Logging:LogLevel:Default=Warning",
        ]);
        try
        {
            await app.StartAsync();
            int grpcPort = app.Services.GetRequiredService<KestrelEndpoints>().GrpcEndPoint!.Port;
            using GrpcChannel channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");
            var membership = new MembershipService.MembershipServiceClient(channel);
            var coordinator = new CoordinatorService.CoordinatorServiceClient(channel);
            foreach ((string host, _, string address) in agents.Agents)
            {
                var r = new RegisterRequest { Host = host, Rack = agents.Rack, Address = address, Clock = new ClockState { Synchronized = true } };
                await membership.RegisterAsync(r);
            }

            // Let the registration probes (GetInfo) open every agent's connection and measure its round trip.
            await Task.Delay(1000);
            Console.WriteLine($"## Coordinator: {hosts} fake agents over loopback gRPC (h2c), {Environment.ProcessorCount} cores");
            Console.WriteLine();

            await MeasureFanOutAsync(app.Services, agents, rounds, binWidthNs, bins);
            (double heapBefore, double wsBefore) = Memory();
            await MeasureCapturesAsync(app.Services, coordinator, agents.Rack, captures, binWidthNs, bins);
            (double heapAfter, double wsAfter) = Memory();
            Console.WriteLine($"| memory (coordinator + {hosts} fake agents, one process) | GC heap {heapBefore:F1} MB before captures, {heapAfter:F1} MB after {captures}; working set {wsBefore:F1} MB before, {wsAfter:F1} MB after |");
            Console.WriteLine();
            Console.WriteLine($"command: dotnet run -c Release --project bench/Millisampler.Benchmarks -- coordinator {string.Join(' ', args)}");
            return 0;
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static async Task MeasureFanOutAsync(IServiceProvider services, CoordinatorBenchmarkAgents agents, int rounds,
        long binWidthNs, uint bins)
    {
        RunScheduler scheduler = services.GetRequiredService<RunScheduler>();
        TaiClock clock = services.GetRequiredService<TaiClock>();
        AgentTarget[] targets = [.. agents.Agents.Select(a => new AgentTarget(a.Host, a.Address))];
        var ms = new List<double>();
        for (int i = -5; i < rounds; i++)
        {
            var request = new ScheduleRunRequest
            {
                RunId = $"fanout-{i}-{Guid.NewGuid():N}",
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

        Console.WriteLine("| measurement | result |");
        Console.WriteLine("|---|---|");
        Console.WriteLine($"| ScheduleRun fan-out to {targets.Length} agents ({rounds} rounds) | p50 {BenchArgs.Percentile(ms, 50):F2} ms, p99 {BenchArgs.Percentile(ms, 99):F2} ms, max {ms.Max():F2} ms |");
    }

    private static async Task MeasureCapturesAsync(IServiceProvider services, CoordinatorService.CoordinatorServiceClient client,
        string rack, int captures, long binWidthNs, uint bins)
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
            Capture started = await client.StartCaptureAsync(new StartCaptureRequest { Rack = rack, BinWidthNs = binWidthNs, Bins = bins });
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

        Console.WriteLine($"| StartCapture → analysed, beyond the run's {runMs:F0} ms ({captures} captures of {bins} × {binWidthNs / 1e6:0.###} ms) | p50 {BenchArgs.Percentile(beyondRun, 50):F1} ms, p99 {BenchArgs.Percentile(beyondRun, 99):F1} ms |");
        Console.WriteLine($"| … of which lead time (request → start instant) | p50 {BenchArgs.Percentile(lead, 50):F1} ms, p99 {BenchArgs.Percentile(lead, 99):F1} ms |");
        Console.WriteLine($"| … of which last bin → analysed result at the client (grace 20 ms, GetRun from every host, merge, analysis, SQLite) | p50 {BenchArgs.Percentile(afterLastBin, 50):F1} ms, p99 {BenchArgs.Percentile(afterLastBin, 99):F1} ms |");
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
