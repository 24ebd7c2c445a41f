using System.Globalization;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator;
using Millisampler.Coordinator.Api;

namespace Millisampler.Benchmarks;

/// <summary>
/// Trigger latency on one coordinator (plaintext) with a rack of fake agents that keep a 1 ms × 4,000 ring: an agent
/// reports a trigger right after the end of the event's last bin (its instant); measured from that instant to the
/// coordinator's decision (the ReportTrigger answer: the decision is stored before it is answered) and to the stored,
/// analysed result of the AROUND capture it fired (which cannot come before the window's end, instant + After).
/// </summary>
public static class TriggerBenchmark
{
    public static int Run(string[] args) => RunAsync(args).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(string[] args)
    {
        int hosts = BenchArgs.Int(args, "--hosts", 40);
        int triggers = BenchArgs.Int(args, "--triggers", 30);
        // Triggers run and not counted first: the first ones pay the JIT and the store's first writes, which a
        // coordinator running for days has long paid.
        int warmUp = BenchArgs.Int(args, "--warm-up", 5);
        long afterNs = BenchArgs.Int(args, "--after-ms", 100) * TimeNs.PerMillisecond;
        long beforeNs = BenchArgs.Int(args, "--before-ms", 500) * TimeNs.PerMillisecond;
        string dir = Directory.CreateTempSubdirectory("ms-bench-trigger-").FullName;
        await using CoordinatorBenchmarkAgents agents = await CoordinatorBenchmarkAgents.StartAsync(hosts);
        WebApplication app = CoordinatorApp.Build(
        [
            "--Security:Insecure=true", "--grpc-url", "http://127.0.0.1:0", "--http-url", "http://127.0.0.1:0", "--db", Path.Combine(dir, "c.db"),
            "--Coordinator:Captures:CollectGrace=00:00:00.020",
            // Every report is its own event: no cooldown, no cap, windows apart.
            "--Coordinator:Triggers:Cooldown=00:00:00", "--Coordinator:Triggers:HourlyCapPerRack=3600",
            $"--Coordinator:Triggers:Before={TimeNs.ToTimeSpan(beforeNs).ToString("c", CultureInfo.InvariantCulture)}",
            $"--Coordinator:Triggers:After={TimeNs.ToTimeSpan(afterNs).ToString("c", CultureInfo.InvariantCulture)}",
            "--Logging:LogLevel:Default=Warning", "--Logging:LogLevel:Microsoft.Hosting.Lifetime=Warning",
        ]);
        var decision = new List<double>();
        var stored = new List<double>();
        var storedAfterWindow = new List<double>();
        try
        {
            await app.StartAsync();
            string url = $"http://127.0.0.1:{app.Services.GetRequiredService<KestrelEndpoints>().GrpcEndPoint!.Port}";
            using GrpcChannel channel = GrpcChannel.ForAddress(url);
            var membership = new MembershipService.MembershipServiceClient(channel);
            var coordinator = new CoordinatorService.CoordinatorServiceClient(channel);
            foreach ((string host, _, string address) in agents.Agents)
            {
                await membership.RegisterAsync(new RegisterRequest { Host = host, Rack = agents.Rack, Address = address, Clock = new ClockState { Synchronized = true } });
            }

            await Task.Delay(1500); // the GetInfo probes learn every agent's rings
            for (int i = -warmUp; i < triggers; i++)
            {
                bool counted = i >= 0;
                // Just after a bin boundary: the bin that just ended is the event's last bin.
                long instant;
                while ((SystemClocks.TaiNs() % TimeNs.PerMillisecond) > 50_000)
                {
                    Thread.SpinWait(100);
                }

                instant = SystemClocks.TaiNs() / TimeNs.PerMillisecond * TimeNs.PerMillisecond;
                long lastBin = (instant / TimeNs.PerMillisecond) - 1;
                (string host, _, _) = agents.Agents[(i + warmUp) % agents.Agents.Count];
                TriggerResponse answer = await membership.ReportTriggerAsync(new TriggerReport
                {
                    Host = host,
                    Rack = agents.Rack,
                    Rule = "bench",
                    BinWidthNs = TimeNs.PerMillisecond,
                    FirstBin = lastBin - 3,
                    LastBin = lastBin,
                    InstantTaiNs = instant,
                    Values = { ["ingress_utilization"] = 0.95 },
                });
                if (counted)
                {
                    decision.Add((SystemClocks.TaiNs() - instant) / 1e6);
                }

                if (!answer.Accepted || answer.Reason.Length > 0)
                {
                    Console.Error.WriteLine($"trigger {i}: not fired: {answer.Reason}");
                    continue;
                }

                using AsyncServerStreamingCall<CaptureProgress> watch = coordinator.WatchCapture(new WatchCaptureRequest { CaptureId = answer.CaptureId });
                CaptureState state = CaptureState.Unspecified;
                await foreach (CaptureProgress p in watch.ResponseStream.ReadAllAsync())
                {
                    state = p.State;
                }

                long done = SystemClocks.TaiNs();
                if (state != CaptureState.Analysed)
                {
                    Console.Error.WriteLine($"trigger {i}: capture {answer.CaptureId} {state}");
                    continue;
                }

                if (counted)
                {
                    stored.Add((done - instant) / 1e6);
                    storedAfterWindow.Add((done - (instant + afterNs)) / 1e6);
                }

                await Task.Delay(TimeNs.ToTimeSpan(beforeNs + afterNs)); // the next event's window starts after this one's
            }
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

        Console.WriteLine($"### Trigger latency: {hosts} fake agents, {triggers} triggers, window {beforeNs / TimeNs.PerMillisecond} ms before / {afterNs / TimeNs.PerMillisecond} ms after at 1 ms, plaintext");
        Console.WriteLine();
        Console.WriteLine("| from the end of the event's last bin to | median ms | p95 ms | max ms |");
        Console.WriteLine("|---|---|---|---|");
        Row("the coordinator's decision (ReportTrigger answered, decision stored)", decision);
        Row("the capture's stored, analysed result", stored);
        Row("… less the window's end (instant + After): reading, merging, analysing, storing", storedAfterWindow);
        Console.WriteLine();
        Console.WriteLine($"command: dotnet run -c Release --project bench/Millisampler.Benchmarks -- triggers {string.Join(' ', args)}");
        return 0;
    }

    private static void Row(string what, List<double> values)
    {
        if (values.Count == 0)
        {
            Console.WriteLine($"| {what} | – | – | – |");
            return;
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {what} | {BenchArgs.Percentile(values, 50):0.0} | {BenchArgs.Percentile(values, 95):0.0} | {values.Max():0.0} |"));
    }
}
