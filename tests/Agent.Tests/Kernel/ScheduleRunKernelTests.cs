using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Millisampler.Agent.Bpf;
using Millisampler.Agent.Clock;
using Millisampler.Agent.Sampling;
using Millisampler.Agent.Schedule;
using Millisampler.Agent.Storage;
using Millisampler.Contracts.V1;
using Millisampler.Lab;
using Xunit.Abstractions;

namespace Millisampler.Agent.Tests.Kernel;

/// <summary>Agents with the real eBPF program, driven through AgentService.</summary>
[Collection(KernelCollection.Name)]
public sealed class ScheduleRunKernelTests(ITestOutputHelper output)
{
    private const long BinNs = 10_000_000;
    private const int DatagramBytes = 1000;

    /// <summary>A datagram's frame as the tc hook sees it: payload + UDP 8 + IPv4 20 + Ethernet 14 bytes.</summary>
    private const ulong FrameBytes = DatagramBytes + 8 + 20 + 14;

    [Fact]
    public async Task ScheduleRun_TwoAgents_CountFromExactlyTheStartInstant()
    {
        await using var lab = NetworkLab.Create();
        var ns = await lab.AddNamespacesAsync(["snd", "a", "b"]);
        string snd = ns[0];
        var receivers = new[] { (Ns: ns[1], Local: "s0", Address: "198.18.1.2", Sender: "198.18.1.1"), (Ns: ns[2], Local: "s1", Address: "198.18.2.2", Sender: "198.18.2.1") };
        foreach (var n in ns)
        {
            lab.SetSysctls(n, [new("net.ipv6.conf.all.disable_ipv6", "1"), new("net.ipv6.conf.default.disable_ipv6", "1")]);
        }

        foreach (var r in receivers)
        {
            await lab.AddVethAsync(snd, r.Local, r.Ns, "eth0");
            await lab.AddAddressAsync(snd, r.Local, r.Sender + "/24");
            await lab.AddAddressAsync(r.Ns, "eth0", r.Address + "/24");
            // No ARP: every frame the agents see is the test's own.
            await lab.IpAsync(snd, ["neigh", "replace", r.Address, "lladdr", await MacAsync(lab, r.Ns, "eth0"), "dev", r.Local, "nud", "permanent"]);
            await lab.IpAsync(r.Ns, ["neigh", "replace", r.Sender, "lladdr", await MacAsync(lab, snd, r.Local), "dev", "eth0", "nud", "permanent"]);
        }

        var agents = new List<InProcessAgent>();
        var sinks = new List<UdpSink>();
        try
        {
            foreach (var r in receivers)
            {
                agents.Add(await InProcessAgent.StartAsync(r.Ns, $"host-{r.Ns[^1]}"));
                sinks.Add(UdpSink.Start(r.Ns, new IPEndPoint(IPAddress.Parse(r.Address), 5001)));
            }

            // A first, tiny run warms up connections and code paths: the real one then gets its whole 300 ms lead.
            var warmUp = new ScheduleRunRequest { RunId = "warm-up", StartTaiNs = TaiClock.FromNow(TimeSpan.FromSeconds(2)), BinWidthNs = BinNs, Bins = 1 };
            await Task.WhenAll(agents.Select(a => a.Client.ScheduleRunAsync(warmUp).ResponseAsync));
            await Task.WhenAll(agents.Select(a => a.Client.GetRunAsync(new GetRunRequest { RunId = "warm-up" }, deadline: DateTime.UtcNow.AddSeconds(10)).ResponseAsync));

            long start = TaiClock.FromNow(TimeSpan.FromMilliseconds(300));
            var request = new ScheduleRunRequest { RunId = "kernel-sync", StartTaiNs = start, BinWidthNs = BinNs, Bins = 50, Requester = "kernel-test" };
            var accepted = await Task.WhenAll(agents.Select(a => a.Client.ScheduleRunAsync(request).ResponseAsync));
            Assert.All(accepted, r => Assert.Equal(start, r.StartTaiNs));
            output.WriteLine($"both accepted {(start - TaiClock.NowNs()) / 1e6:F1} ms before the start");

            // 10 datagrams 8 ms before bin 0, 20 datagrams 3 ms into it, to both agents at once (8 ms leaves a
            // loaded machine room to finish writing the early burst before the start).
            var before = receivers.Select(r => UdpBurst.RunAsync([new BurstSender(snd, 10 * DatagramBytes)], new IPEndPoint(IPAddress.Parse(r.Address), 5001), start - 8_000_000, DatagramBytes)).ToList();
            var after = receivers.Select(r => UdpBurst.RunAsync([new BurstSender(snd, 20 * DatagramBytes)], new IPEndPoint(IPAddress.Parse(r.Address), 5001), start + 3_000_000, DatagramBytes)).ToList();
            var sentBefore = await Task.WhenAll(before);
            var sentAfter = await Task.WhenAll(after);

            foreach (var (b, a) in sentBefore.Zip(sentAfter))
            {
                output.WriteLine($"before: written {(b.Senders[0].WrittenTaiNs - start) / 1e6:F3} ms; after: started {(a.Senders[0].StartedTaiNs - start) / 1e6:F3} ms");
                Assert.True(b.Senders[0].WrittenTaiNs < start, $"the early burst was still being written {(b.Senders[0].WrittenTaiNs - start) / 1e3} us after the start: the machine was too busy to test");
                Assert.InRange(a.Senders[0].StartedTaiNs - start, 0, BinNs - 1_000_000);
            }

            foreach (var (agent, sink) in agents.Zip(sinks))
            {
                var run = await agent.Client.GetRunAsync(new GetRunRequest { RunId = "kernel-sync" }, deadline: DateTime.UtcNow.AddSeconds(10));
                output.WriteLine($"{run.Host}: bin0 {run.Series.IngressPackets[0]} packets / {run.Series.IngressBytes[0]} bytes; run total {run.Series.IngressPackets.Sum()} packets; sink got {sink.DatagramsReceived}");
                Assert.Equal((RunStatus.Complete, 50u, start), (run.Status, run.BinsRecorded, run.StartTaiNs));
                Assert.Equal(30, sink.DatagramsReceived);
                // Bin 0 holds exactly the later burst; the earlier one, 8 ms before the start, is nowhere in the run.
                Assert.Equal(20UL, run.Series.IngressPackets[0]);
                Assert.Equal(20 * FrameBytes, run.Series.IngressBytes[0]);
                Assert.Equal(20UL, run.Series.IngressPackets.Sum());
            }
        }
        finally
        {
            foreach (var s in sinks)
            {
                await s.DisposeAsync();
            }

            foreach (var a in agents)
            {
                await a.DisposeAsync();
            }
        }

        foreach (var r in receivers)
        {
            Assert.DoesNotContain(Sampler.TcxPrograms(r.Ns, "eth0", HookDirection.Ingress), p => p.Name.StartsWith("ms_", StringComparison.Ordinal));
            Assert.DoesNotContain(Sampler.TcxPrograms(r.Ns, "eth0", HookDirection.Egress), p => p.Name.StartsWith("ms_", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task Sigterm_WhileArmed_RunStoredCutShort_NothingLeftAttached()
    {
        await using var net = await PairNetwork.CreateAsync();
        string store = Directory.CreateTempSubdirectory("ms-agent-sigterm-").FullName;
        var psi = new ProcessStartInfo("ip")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var arg in new[]
                 {
                     "netns", "exec", net.Rx, "dotnet", Repo.AgentDll, "serve", "--urls", "http://127.0.0.1:7300", "--Security:Insecure=true",
                     "--Agent:Interfaces:0=eth0", "--Agent:Host=sigterm-host", "--Agent:ClockErrorSource=SharedHostClock",
                     "--Agent:Schedule:Enabled=false", $"--Agent:RunStore:Directory={store}",
                 })
        {
            psi.ArgumentList.Add(arg);
        }
        using var agent = Process.Start(psi)!;
        var stdout = agent.StandardOutput.ReadToEndAsync();
        var stderr = agent.StandardError.ReadToEndAsync();
        try
        {
            using var channel = ChannelInto(net.Rx, 7300);
            var client = new AgentService.AgentServiceClient(channel);
            await WaitServingAsync(client, agent);

            long start = TaiClock.FromNow(TimeSpan.FromMilliseconds(300));
            await client.ScheduleRunAsync(new ScheduleRunRequest { RunId = "long", StartTaiNs = start, BinWidthNs = BinNs, Bins = 2000, Requester = "kernel-test" });
            TaiClock.SleepUntil(start + 500_000_000);
            Assert.Contains(Sampler.TcxPrograms(net.Rx, PairNetwork.If, HookDirection.Ingress), p => p.Name.StartsWith("ms_", StringComparison.Ordinal));

            using (var kill = Process.Start("kill", ["-TERM", agent.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            using var exitTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await agent.WaitForExitAsync(exitTimeout.Token);
            output.WriteLine(await stdout);
            output.WriteLine(await stderr);
            Assert.Equal(0, agent.ExitCode);

            using var runs = new RunStore(Options.Create(new RunStoreOptions { Directory = store }), TimeProvider.System, NullLogger<RunStore>.Instance);
            var run = await runs.TryGetAsync("long", default);
            Assert.NotNull(run);
            Assert.Equal((RunStatus.CutShort, "cut short: the agent stopped"), (run.Status, run.StatusDetail));
            Assert.InRange(run.BinsRecorded, 45u, 150u);
            Assert.DoesNotContain(Sampler.TcxPrograms(net.Rx, PairNetwork.If, HookDirection.Ingress), p => p.Name.StartsWith("ms_", StringComparison.Ordinal));
            Assert.DoesNotContain(Sampler.TcxPrograms(net.Rx, PairNetwork.If, HookDirection.Egress), p => p.Name.StartsWith("ms_", StringComparison.Ordinal));
        }
        finally
        {
            if (!agent.HasExited)
            {
                agent.Kill(entireProcessTree: true);
            }

            Directory.Delete(store, recursive: true);
        }
    }

    [Fact]
    public async Task Sigkill_WhileArmed_RestartRecordsTheRunLostWithItsWindow()
    {
        await using var net = await PairNetwork.CreateAsync();
        string store = Directory.CreateTempSubdirectory("ms-agent-sigkill-").FullName;
        Process? agent = null;
        try
        {
            agent = StartAgentProcess(net.Rx, store);
            using var channel = ChannelInto(net.Rx, 7300);
            var client = new AgentService.AgentServiceClient(channel);
            await WaitServingAsync(client, agent);

            long start = TaiClock.FromNow(TimeSpan.FromMilliseconds(300));
            await client.ScheduleRunAsync(new ScheduleRunRequest { RunId = "doomed", StartTaiNs = start, BinWidthNs = BinNs, Bins = 2000, Requester = "kernel-test" });
            TaiClock.SleepUntil(start + 500_000_000);
            Assert.Contains(Sampler.TcxPrograms(net.Rx, PairNetwork.If, HookDirection.Ingress), p => p.Name.StartsWith("ms_", StringComparison.Ordinal));

            using (var kill = Process.Start("kill", ["-KILL", agent.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            using (var exitTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(20)))
            {
                await agent.WaitForExitAsync(exitTimeout.Token);
            }

            agent.Dispose();
            agent = StartAgentProcess(net.Rx, store);
            await WaitServingAsync(client, agent);
            Run lost = await client.GetRunAsync(new GetRunRequest { RunId = "doomed" }, deadline: DateTime.UtcNow.AddSeconds(10));
            RunSummary listed = Assert.Single((await client.ListRunsAsync(new ListRunsRequest())).Runs, r => r.RunId == "doomed");

            Assert.Equal((RunStatus.Lost, start, BinNs, 2000u, 0u), (lost.Status, lost.StartTaiNs, lost.BinWidthNs, lost.Bins, lost.BinsRecorded));
            Assert.StartsWith("lost: the agent stopped", lost.StatusDetail);
            Assert.Equal(RunStatus.Lost, listed.Status);
        }
        finally
        {
            if (agent is { HasExited: false })
            {
                agent.Kill(entireProcessTree: true);
                await agent.WaitForExitAsync();
            }

            agent?.Dispose();
            Directory.Delete(store, recursive: true);
        }
    }

    /// <summary>The agent executable serving on 127.0.0.1:7300 inside <paramref name="ns"/>, insecure, on <paramref name="store"/>.</summary>
    private static Process StartAgentProcess(string ns, string store)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[]
                 {
                     "netns", "exec", ns, "dotnet", Repo.AgentDll, "serve", "--urls", "http://127.0.0.1:7300", "--Security:Insecure=true",
                     "--Agent:Interfaces:0=eth0", "--Agent:Host=sigkill-host", "--Agent:ClockErrorSource=SharedHostClock",
                     "--Agent:Schedule:Enabled=false", $"--Agent:RunStore:Directory={store}",
                 })
        {
            psi.ArgumentList.Add(arg);
        }

        var process = Process.Start(psi)!;
        // Drained so a chatty agent never blocks on a full pipe.
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>A gRPC channel whose TCP connections are opened inside <paramref name="ns"/> (where the agent listens on loopback).</summary>
    private static GrpcChannel ChannelInto(string ns, int port) =>
        GrpcChannel.ForAddress($"http://127.0.0.1:{port}", new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                ConnectCallback = async (context, ct) =>
                {
                    var socket = NetNs.Run(ns, () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true });
                    try
                    {
                        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), ct);
                        return new NetworkStream(socket, ownsSocket: true);
                    }
                    catch
                    {
                        socket.Dispose();
                        throw;
                    }
                },
            },
        });

    private static async Task WaitServingAsync(AgentService.AgentServiceClient client, Process agent)
    {
        var until = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                await client.GetInfoAsync(new GetInfoRequest(), deadline: DateTime.UtcNow.AddSeconds(2));
                return;
            }
            catch (Grpc.Core.RpcException) when (DateTime.UtcNow < until && !agent.HasExited)
            {
                await Task.Delay(200);
            }
        }
    }

    private static async Task<string> MacAsync(NetworkLab lab, string ns, string ifname)
    {
        var text = (await lab.IpAsync(ns, ["-o", "link", "show", "dev", ifname])).StdOut;
        int at = text.IndexOf("link/ether ", StringComparison.Ordinal);
        return at >= 0 ? text[(at + 11)..].Split(' ')[0] : throw new InvalidOperationException($"No MAC on {ns}/{ifname}: {text}");
    }
}
