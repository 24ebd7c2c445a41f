using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator;
using Millisampler.Coordinator.Api;
using Millisampler.Coordinator.Membership;

namespace Millisampler.Benchmarks;

/// <summary>
/// One coordinator (this process) and a fleet of fake agents over real gRPC on loopback (h2c) in a child process
/// (<c>fleet-agents</c>): by default 100 racks × 92 hosts = 9,200 agents, each with its own listening port, so the
/// coordinator holds one channel and one connection per agent as it would to real hosts; the child registers every
/// agent and sends each one's heartbeat every 5 s over 32 connections. (1) registration; (2) heartbeats only: the
/// coordinator's CPU and memory; (3) a sweep of every rack at 100 µs, 1 ms and 10 ms × 2,000 bins, fleet-synchronized,
/// while an engineer starts a capture every few seconds: sweep captures per minute and last bin → analysed result.
/// Two processes because each may hold 20,000 open files here, and so the coordinator's CPU is its own.
/// Options: --racks N (100), --hosts N per rack (92), --idle-s N (60), --max-concurrent N (sweep budget, 100),
/// --engineer-every-s N (5; 0 = none), --timeout-min N (20).
/// </summary>
internal static class FleetBenchmark
{
    public static int Run(string[] args) => RunAsync(args).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(string[] args)
    {
        int racks = BenchArgs.Int(args, "--racks", 100);
        int hostsPerRack = BenchArgs.Int(args, "--hosts", 92);
        int idleSeconds = BenchArgs.Int(args, "--idle-s", 60);
        int budget = BenchArgs.Int(args, "--max-concurrent", 100);
        int engineerEvery = BenchArgs.Int(args, "--engineer-every-s", 5);
        int timeoutMinutes = BenchArgs.Int(args, "--timeout-min", 20);
        int agentsTotal = racks * hostsPerRack;

        string dir = Directory.CreateTempSubdirectory("ms-bench-fleet-").FullName;
        WebApplication app = CoordinatorApp.Build(
        [
            "--Security:Insecure=true",
            "--grpc-url", "http://127.0.0.1:0",
            "--http-url", "http://127.0.0.1:0",
            "--db", Path.Combine(dir, "captures.db"),
            "--Logging:LogLevel:Default=Warning",
            // Standard output is the markdown table; the coordinator's warnings (probe timeouts under load) go to stderr.
            "--Logging:Console:LogToStandardErrorThreshold=Trace",
        ]);
        FleetAgentsProcess? fleet = null;
        try
        {
            await app.StartAsync();
            int grpcPort = app.Services.GetRequiredService<KestrelEndpoints>().GrpcEndPoint!.Port;
            TimeSpan interval = app.Services.GetRequiredService<IOptions<MembershipOptions>>().Value.HeartbeatInterval;
            MembershipRegistry registry = app.Services.GetRequiredService<MembershipRegistry>();
            TaiClock tai = app.Services.GetRequiredService<TaiClock>();
            using GrpcChannel channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");
            var coordinator = new CoordinatorService.CoordinatorServiceClient(channel);
            var sweeps = new SweepService.SweepServiceClient(channel);

            Console.Error.WriteLine($"fleet: starting {agentsTotal} fake agents ({racks} racks × {hostsPerRack}) in a child process");
            fleet = FleetAgentsProcess.Start(grpcPort, racks, hostsPerRack);
            // (1) Registration: the child registers 64 at a time; each one makes the coordinator dial the agent (GetInfo).
            string[] registeredLine = (await fleet.ReadLineAsync()).Split(' ');
            double registerSeconds = double.Parse(registeredLine[2], CultureInfo.InvariantCulture);
            List<string> knownRacks = [.. registry.Racks()];
            int registered = knownRacks.Sum(r => registry.HostsOf(r).Count);

            Console.WriteLine($"## Fleet: one coordinator, {agentsTotal} fake agents ({racks} racks × {hostsPerRack}) over loopback gRPC (h2c), {Environment.ProcessorCount} cores");
            Console.WriteLine();
            Console.WriteLine("| measurement | result |");
            Console.WriteLine("|---|---|");
            Console.WriteLine($"| register {agentsTotal} agents (64 at a time) | {registerSeconds:F1} s ({agentsTotal / registerSeconds:F0}/s); {registered} hosts in {knownRacks.Count} racks |");

            // (2) Heartbeats only, after 10 s to settle.
            Console.Error.WriteLine($"fleet: heartbeats every {interval.TotalSeconds:F0} s, measuring {idleSeconds} s");
            await Task.Delay(TimeSpan.FromSeconds(10));
            await fleet.CommandAsync("mark");
            Usage idle = await MeasureAsync(TimeSpan.FromSeconds(idleSeconds), fleet);
            HeartbeatStats idleBeats = HeartbeatStats.Parse(await fleet.CommandAsync("report"));
            Console.WriteLine($"| heartbeats only ({agentsTotal / interval.TotalSeconds:F0}/s, {idleSeconds} s) | coordinator CPU {idle.Cores:F2} cores of {Environment.ProcessorCount} (fake agents' process {idle.AgentCores:F2}); heartbeat p50 {idleBeats.P50:F1} ms, p99 {idleBeats.P99:F1} ms, {idleBeats.Failures} of {idleBeats.Count} failed |");
            Console.WriteLine($"| coordinator memory, heartbeats only | GC heap {idle.HeapMb:F0} MB, working set {idle.WorkingSetMb:F0} MB |");

            // (3) A sweep of every rack at three widths, and an engineer's captures meanwhile.
            var definition = new SweepDefinition
            {
                Name = "fleet",
                Racks = new SweepRacks { All = true },
                PeriodNs = 3_600_000_000_000,
                Alignment = SweepAlignment.FleetSynchronized,
                MaxConcurrent = (uint)budget,
            };
            definition.Widths.Add(new SweepWidth { BinWidthNs = 100_000, Bins = 2000 });
            definition.Widths.Add(new SweepWidth { BinWidthNs = 1_000_000, Bins = 2000 });
            definition.Widths.Add(new SweepWidth { BinWidthNs = 10_000_000, Bins = 2000 });
            int expected = racks * definition.Widths.Count;
            long sweepStartUnixNs = TimeNs.FromUnix(DateTimeOffset.UtcNow);
            await fleet.CommandAsync("mark");
            long cpu0 = CpuNs(Process.GetCurrentProcess());
            long agentCpu0 = fleet.CpuNs();
            long t0 = Stopwatch.GetTimestamp();
            await sweeps.CreateSweepAsync(new CreateSweepRequest { Definition = definition });
            using var stop = new CancellationTokenSource();
            var engineer = new EngineerLoop(coordinator, knownRacks, TimeSpan.FromSeconds(engineerEvery));
            Task engineerTask = engineerEvery > 0 ? engineer.RunAsync(stop.Token) : Task.CompletedTask;

            IReadOnlyList<Capture> done = [];
            var deadline = TimeSpan.FromMinutes(timeoutMinutes);
            double peakHeapMb = 0;
            double peakWorkingSetMb = 0;
            while (Stopwatch.GetElapsedTime(t0) < deadline)
            {
                await Task.Delay(2000);
                using (Process self = Process.GetCurrentProcess())
                {
                    peakHeapMb = Math.Max(peakHeapMb, GC.GetTotalMemory(false) / 1048576.0);
                    peakWorkingSetMb = Math.Max(peakWorkingSetMb, self.WorkingSet64 / 1048576.0);
                }

                ListCapturesResponse list = await coordinator.ListCapturesAsync(new ListCapturesRequest { FromUnixNs = sweepStartUnixNs, Limit = 1000 });
                done = [.. list.Captures.Where(c => c.Origin == CaptureOrigin.Sweep && IsFinal(c.State))];
                Console.Error.WriteLine($"fleet: {Stopwatch.GetElapsedTime(t0).TotalSeconds:F0} s: {done.Count}/{expected} sweep captures done; engineer: {engineer.Summary()}");
                if (done.Count >= expected)
                {
                    break;
                }
            }

            double sweepSeconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            double sweepCores = (CpuNs(Process.GetCurrentProcess()) - cpu0) / 1e9 / sweepSeconds;
            double agentCores = (fleet.CpuNs() - agentCpu0) / 1e9 / sweepSeconds;
            await stop.CancelAsync();
            await engineerTask;
            HeartbeatStats sweepBeats = HeartbeatStats.Parse(await fleet.CommandAsync("report"));
            long taiOffsetNs = tai.TaiOffsetSeconds * 1_000_000_000L;
            var afterLastBin = done.Where(c => c.State == CaptureState.Analysed)
                .Select(c => (c.CompletedAtUnixNs - (c.StartTaiNs - taiOffsetNs + (c.Bins * c.BinWidthNs))) / 1e6).ToList();
            int analysed = done.Count(c => c.State == CaptureState.Analysed);
            Console.WriteLine($"| sweep: {expected} captures ({racks} racks × 100 µs, 1 ms, 10 ms × 2,000 bins), fleet-synchronized, budget {budget} at once | {done.Count} ended ({analysed} analysed) in {sweepSeconds:F0} s: {done.Count / (sweepSeconds / 60):F0} captures/min |");
            Console.WriteLine($"| … last bin → analysed result (collect {hostsPerRack} hosts, merge, analyse, store) | p50 {BenchArgs.Percentile(afterLastBin, 50):F0} ms, p99 {BenchArgs.Percentile(afterLastBin, 99):F0} ms, max {(afterLastBin.Count > 0 ? afterLastBin.Max() : 0):F0} ms |");
            Console.WriteLine($"| … hosts covered | {done.Sum(c => (long)c.HostsCovered)} of {done.Sum(c => (long)c.HostsRequested)} |");
            Console.WriteLine($"| … coordinator during the sweep | CPU {sweepCores:F2} cores (fake agents' process {agentCores:F2}); peak GC heap {peakHeapMb:F0} MB, working set {peakWorkingSetMb:F0} MB; heartbeat p99 {sweepBeats.P99:F1} ms, {sweepBeats.Failures} of {sweepBeats.Count} failed |");
            if (engineerEvery > 0)
            {
                Console.WriteLine($"| engineer's captures meanwhile (1 ms × 2,000 on a random rack every {engineerEvery} s, wait_if_busy) | {engineer.Summary()} |");
            }

            int lost = registered - registry.Racks().Sum(r => registry.HostsOf(r).Count);
            Console.WriteLine();
            Console.WriteLine($"command: dotnet bench/Millisampler.Benchmarks/bin/Release/net10.0/Millisampler.Benchmarks.dll fleet {string.Join(' ', args)}");
            return done.Count >= expected && lost == 0 ? 0 : 1;
        }
        finally
        {
            if (fleet is not null)
            {
                await fleet.DisposeAsync();
            }

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

    /// <summary>
    /// The child process: starts the fake agents, registers them with the coordinator at --coordinator PORT, prints
    /// "registered N SECONDS", heartbeats every agent, and answers "mark" (reset the heartbeat figures), "report"
    /// ("COUNT P50 P99 FAILURES") and "exit" read from standard input.
    /// </summary>
    public static int RunAgents(string[] args) => RunAgentsAsync(args).GetAwaiter().GetResult();

    private static async Task<int> RunAgentsAsync(string[] args)
    {
        int port = BenchArgs.Int(args, "--coordinator", 0);
        int racks = BenchArgs.Int(args, "--racks", 100);
        int hostsPerRack = BenchArgs.Int(args, "--hosts", 92);
        await using CoordinatorBenchmarkAgents agents = await CoordinatorBenchmarkAgents.StartAsync(racks, hostsPerRack);
        await using var heartbeats = new HeartbeatDriver();
        long t0 = Stopwatch.GetTimestamp();
        await heartbeats.RegisterAllAsync(port, agents.Agents);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"registered {agents.Agents.Count} {Stopwatch.GetElapsedTime(t0).TotalSeconds:F2}"));
        heartbeats.Start(TimeSpan.FromSeconds(5));
        while (await Console.In.ReadLineAsync() is { } command)
        {
            switch (command)
            {
                case "mark":
                    heartbeats.Mark();
                    Console.WriteLine("ok");
                    break;
                case "report":
                    Console.WriteLine(heartbeats.Report());
                    break;
                default:
                    return 0;
            }
        }

        return 0;
    }

    /// <summary>The fake agents' process, driven over its standard input and output.</summary>
    private sealed class FleetAgentsProcess : IAsyncDisposable
    {
        private readonly Process _process;

        private FleetAgentsProcess(Process process) => _process = process;

        public static FleetAgentsProcess Start(int coordinatorPort, int racks, int hostsPerRack)
        {
            var start = new ProcessStartInfo(Environment.ProcessPath!)
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                UseShellExecute = false,
            };
            start.ArgumentList.Add(typeof(FleetBenchmark).Assembly.Location);
            foreach (string a in (string[])["fleet-agents", "--coordinator", $"{coordinatorPort}", "--racks", $"{racks}", "--hosts", $"{hostsPerRack}"])
            {
                start.ArgumentList.Add(a);
            }

            return new FleetAgentsProcess(Process.Start(start) ?? throw new InvalidOperationException("cannot start the fake agents' process"));
        }

        public async Task<string> ReadLineAsync() =>
            await _process.StandardOutput.ReadLineAsync() ?? throw new InvalidOperationException($"the fake agents' process ended (exit code {(_process.HasExited ? _process.ExitCode : -1)})");

        public async Task<string> CommandAsync(string command)
        {
            await _process.StandardInput.WriteLineAsync(command);
            await _process.StandardInput.FlushAsync();
            return await ReadLineAsync();
        }

        public long CpuNs()
        {
            _process.Refresh();
            return FleetBenchmark.CpuNs(_process);
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                try
                {
                    await _process.StandardInput.WriteLineAsync("exit");
                    await _process.StandardInput.FlushAsync();
                }
                catch (IOException)
                {
                }

                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                try
                {
                    await _process.WaitForExitAsync(wait.Token);
                }
                catch (OperationCanceledException)
                {
                    _process.Kill(entireProcessTree: true);
                }
            }

            _process.Dispose();
        }
    }

    private sealed record HeartbeatStats(long Count, double P50, double P99, long Failures)
    {
        public static HeartbeatStats Parse(string line)
        {
            string[] f = line.Split(' ');
            return new HeartbeatStats(long.Parse(f[0], CultureInfo.InvariantCulture), double.Parse(f[1], CultureInfo.InvariantCulture),
                double.Parse(f[2], CultureInfo.InvariantCulture), long.Parse(f[3], CultureInfo.InvariantCulture));
        }
    }

    private static bool IsFinal(CaptureState state) => state is CaptureState.Analysed or CaptureState.Failed;

    private sealed record Usage(double Cores, double AgentCores, double HeapMb, double WorkingSetMb);

    private static async Task<Usage> MeasureAsync(TimeSpan duration, FleetAgentsProcess fleet)
    {
        long cpu0 = CpuNs(Process.GetCurrentProcess());
        long agentCpu0 = fleet.CpuNs();
        long t0 = Stopwatch.GetTimestamp();
        await Task.Delay(duration);
        double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        using Process self = Process.GetCurrentProcess();
        return new Usage((CpuNs(self) - cpu0) / 1e9 / seconds, (fleet.CpuNs() - agentCpu0) / 1e9 / seconds,
            GC.GetTotalMemory(false) / 1048576.0, self.WorkingSet64 / 1048576.0);
    }

    private static long CpuNs(Process process) => process.TotalProcessorTime.Ticks * 100;

    /// <summary>Registers every agent, then sends each one's heartbeat once per interval, spread evenly over it.</summary>
    private sealed class HeartbeatDriver : IAsyncDisposable
    {
        private readonly List<GrpcChannel> _channels = [];
        private readonly ConcurrentQueue<double> _latencies = new();
        private readonly CancellationTokenSource _stop = new();
        private IReadOnlyList<(string Host, string Rack, string Address)> _agents = [];
        private Task _loop = Task.CompletedTask;
        private long _failures;

        private long Failures => Interlocked.Read(ref _failures);

        public async Task RegisterAllAsync(int grpcPort, IReadOnlyList<(string Host, string Rack, string Address)> agents)
        {
            _agents = agents;
            for (int i = 0; i < 32; i++)
            {
                _channels.Add(GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}"));
            }

            await Parallel.ForEachAsync(Enumerable.Range(0, agents.Count), new ParallelOptions { MaxDegreeOfParallelism = 64 }, async (i, ct) =>
            {
                (string host, string rack, string address) = agents[i];
                var client = new MembershipService.MembershipServiceClient(_channels[i % _channels.Count]);
                await client.RegisterAsync(new RegisterRequest { Host = host, Rack = rack, Address = address, Clock = Synced() }, cancellationToken: ct);
            });
        }

        public double PerSecond(TimeSpan interval) => _agents.Count / interval.TotalSeconds;

        public void Start(TimeSpan interval)
        {
            _loop = Task.Run(async () =>
            {
                using var inFlight = new SemaphoreSlim(256);
                long start = Stopwatch.GetTimestamp();
                double spacingS = interval.TotalSeconds / _agents.Count;
                for (long n = 0; !_stop.IsCancellationRequested; n++)
                {
                    double dueS = n * spacingS;
                    double waitS = dueS - Stopwatch.GetElapsedTime(start).TotalSeconds;
                    if (waitS > 0.005)
                    {
                        await Task.Delay(TimeSpan.FromSeconds(waitS), _stop.Token).ConfigureAwait(false);
                    }

                    await inFlight.WaitAsync(_stop.Token).ConfigureAwait(false);
                    int i = (int)(n % _agents.Count);
                    _ = BeatAsync(i, inFlight);
                }
            });
        }

        private async Task BeatAsync(int i, SemaphoreSlim inFlight)
        {
            try
            {
                (string host, string rack, _) = _agents[i];
                var client = new MembershipService.MembershipServiceClient(_channels[i % _channels.Count]);
                long t0 = Stopwatch.GetTimestamp();
                await client.HeartbeatAsync(new HeartbeatRequest { Host = host, Rack = rack, Clock = Synced() }, deadline: DateTime.UtcNow.AddSeconds(10));
                _latencies.Enqueue(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
            }
            catch (RpcException)
            {
                Interlocked.Increment(ref _failures);
            }
            finally
            {
                inFlight.Release();
            }
        }

        public void Mark()
        {
            _latencies.Clear();
            Interlocked.Exchange(ref _failures, 0);
        }

        /// <summary>"COUNT P50 P99 FAILURES" since the last mark, ms.</summary>
        public string Report()
        {
            List<double> l = [.. _latencies];
            return string.Create(CultureInfo.InvariantCulture, $"{l.Count + Failures} {BenchArgs.Percentile(l, 50):F2} {BenchArgs.Percentile(l, 99):F2} {Failures}");
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            try
            {
                await _loop;
            }
            catch (OperationCanceledException)
            {
            }

            foreach (GrpcChannel c in _channels)
            {
                c.Dispose();
            }

            _stop.Dispose();
        }

        private static ClockState Synced() => new() { Synchronized = true, MaxErrorNs = 20_000, EstimatedErrorNs = 5_000, Source = ClockSource.Tai };
    }

    /// <summary>
    /// An engineer starting a 1 ms × 2,000 capture on a random rack every few seconds with wait_if_busy, as the
    /// documented priority says: behind at most one sweep capture. Measures request → analysed beyond the 2 s run.
    /// </summary>
    private sealed class EngineerLoop(CoordinatorService.CoordinatorServiceClient client, IReadOnlyList<string> racks, TimeSpan every)
    {
        private readonly ConcurrentBag<double> _beyondRunMs = [];
        private readonly ConcurrentBag<Task> _watches = [];
        private int _started;
        private int _queued;
        private int _refused;
        private int _failed;

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            var random = new Random(1);
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(every, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                _watches.Add(CaptureAsync(racks[random.Next(racks.Count)]));
            }

            await Task.WhenAll(_watches).ConfigureAwait(false);
        }

        private async Task CaptureAsync(string rack)
        {
            try
            {
                long t0 = Stopwatch.GetTimestamp();
                Capture c = await client.StartCaptureAsync(new StartCaptureRequest { Rack = rack, BinWidthNs = 1_000_000, Bins = 2000, WaitIfBusy = true });
                Interlocked.Increment(ref _started);
                if (c.State == CaptureState.Queued)
                {
                    Interlocked.Increment(ref _queued);
                }

                using AsyncServerStreamingCall<CaptureProgress> watch = client.WatchCapture(new WatchCaptureRequest { CaptureId = c.CaptureId });
                await foreach (CaptureProgress _ in watch.ResponseStream.ReadAllAsync())
                {
                }

                Capture done = await client.GetCaptureAsync(new GetCaptureRequest { CaptureId = c.CaptureId });
                if (done.State == CaptureState.Analysed)
                {
                    _beyondRunMs.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds - 2000);
                }
                else
                {
                    Interlocked.Increment(ref _failed);
                }
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.ResourceExhausted)
            {
                Interlocked.Increment(ref _refused);
            }
            catch (RpcException)
            {
                Interlocked.Increment(ref _failed);
            }
        }

        public string Summary() =>
            string.Create(CultureInfo.InvariantCulture,
                $"{_started} started ({_queued} queued behind a sweep capture), {_beyondRunMs.Count} analysed: request → result beyond the 2 s run p50 {BenchArgs.Percentile([.. _beyondRunMs], 50) / 1000:F1} s, max {(_beyondRunMs.IsEmpty ? 0 : _beyondRunMs.Max()) / 1000:F1} s; {_refused} refused, {_failed} failed");
    }


}
