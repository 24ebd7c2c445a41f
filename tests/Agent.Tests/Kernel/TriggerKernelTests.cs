using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Millisampler.Contracts.V1;
using Millisampler.Lab;
using Xunit.Abstractions;

namespace Millisampler.Agent.Tests.Kernel;

/// <summary>Trigger rules on the real program's look-back ring, with real packets, reported to a fake coordinator.</summary>
[Collection(KernelCollection.Name)]
public sealed class TriggerKernelTests(ITestOutputHelper output)
{
    private const string Prefix = "ms-h11a-";
    private const long Ms = 1_000_000;

    /// <summary>
    /// The receiver gets datagrams for 20 ms, none for ~15 ms while it keeps sending its own, then datagrams again: its
    /// IngressStall rule fires, the fake coordinator receives the report, and the report's bins are exactly the ring's
    /// zero-ingress bins between the two busy ones (read back through ReadWindow), inside the pause the sender made.
    /// </summary>
    [Fact]
    public async Task IngressStall_RealTraffic_ReportReachesCoordinatorWithTheStalledBins()
    {
        await using var net = await PairNetwork.CreateAsync(offloads: false, prefix: Prefix);
        await using var coordinator = await FakeCoordinatorForTriggers.StartAsync();
        await using var agent = await InProcessAgent.StartAsync(net.Rx, "stall-host", "rack-t", lookback: true, $"--Agent:CoordinatorAddress=http://127.0.0.1:{coordinator.Port}",
            "--Agent:Triggers:Rules:0:Name=nic-stall", "--Agent:Triggers:Rules:0:Kind=IngressStall", "--Agent:Triggers:Rules:0:Bins=4",
            "--Agent:Triggers:Rules:0:BusyBitsPerSecond=8000000", "--Agent:Triggers:Rules:0:Cooldown=00:01:00");
        var client = agent.Client;
        var info = await client.GetInfoAsync(new GetInfoRequest());
        var rule = Assert.Single(info.TriggerRules);
        Assert.Equal(("nic-stall", "IngressStall", 4u, true), (rule.Name, rule.Kind, rule.Bins, rule.Active));
        await WaitAsync(() => !coordinator.Registrations.IsEmpty, "the agent never registered");

        using var tx = NetNs.Run(net.Tx, () => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
        using var rx = NetNs.Run(net.Rx, () => new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp));
        await using var sink = UdpSink.Start(net.Rx, new IPEndPoint(PairNetwork.RxAddress, 5001));
        var toRx = new IPEndPoint(PairNetwork.RxAddress, 5001);
        var toTx = new IPEndPoint(PairNetwork.TxAddress, 5002);
        var payload = new byte[1000];
        TriggerReport? report = null;
        long pauseStart = 0, pauseEnd = 0;
        // A loaded machine can deschedule the egress loop for a whole bin (the rule rightly does not fire then): try again.
        for (int attempt = 0; attempt < 5 && report is null; attempt++)
        {
            Send(tx, toRx, payload, 20 * Ms);
            pauseStart = TaiClock.NowNs();
            Send(rx, toTx, payload, 15 * Ms);
            pauseEnd = TaiClock.NowNs();
            Send(tx, toRx, payload, 20 * Ms);
            var until = DateTime.UtcNow.AddSeconds(2);
            while (report is null && DateTime.UtcNow < until)
            {
                coordinator.Reports.TryPeek(out report);
                await Task.Delay(20);
            }
            output.WriteLine($"attempt {attempt}: pause {pauseStart / Ms}..{pauseEnd / Ms}, report {(report is null ? "none" : $"{report.FirstBin}..{report.LastBin}")}");
        }

        Assert.NotNull(report);
        Assert.Equal(("stall-host", "rack-t", "nic-stall", Ms), (report.Host, report.Rack, report.Rule, report.BinWidthNs));
        Assert.Equal((report.LastBin + 1) * Ms, report.InstantTaiNs);
        // The stall never starts before the sender's pause, and covers the pause but for its edges. Datagrams reach the
        // ingress hook when the receiving softirq runs, which a loaded machine defers by milliseconds (the full suite at
        // load 15 saw the stall start 5 bins into the pause; PcapFidelityTests measures the same lag): both edges may
        // come up to IngressLagBins late, never early.
        Assert.InRange(report.FirstBin, pauseStart / Ms, (pauseStart / Ms) + IngressLagBins);
        Assert.InRange(report.LastBin, (pauseEnd / Ms) - 2, (pauseEnd / Ms) + IngressLagBins);
        Assert.Equal(report.LastBin - report.FirstBin + 1, report.Values["stall_bins"]);

        // The ring, read through ReadWindow, agrees: zero ingress and some egress in exactly those bins, busy bins around them.
        long first = report.FirstBin - 3;
        var window = await client.ReadWindowAsync(new ReadWindowRequest { RunId = "stall-window", FirstBin = first, Bins = (uint)(report.LastBin - first + 4), BinWidthNs = Ms, Requester = "test" });
        for (long b = report.FirstBin; b <= report.LastBin; b++)
        {
            Assert.Equal(0UL, window.Series.IngressBytes[(int)(b - first)]);
            Assert.True(window.Series.EgressBytes[(int)(b - first)] > 0, $"no egress in bin {b}");
        }
        Assert.True(window.Series.IngressBytes[(int)(report.FirstBin - 1 - first)] >= 1000);
        Assert.Equal(window.Series.IngressBytes[(int)(report.LastBin + 1 - first)], report.Values["ingress_bytes_after"]);
        Assert.Equal((double)window.Series.EgressBytes.Skip((int)(report.FirstBin - first)).Take((int)(report.LastBin - report.FirstBin + 1)).Sum(), report.Values["egress_bytes"]);
        Assert.Single(coordinator.Reports); // the cooldown (1 min) held over the later attempts' stalls, if any
    }

    /// <summary>
    /// A receiver behind a router that drops 2 % of the packets toward it: its RetransmitRate rule fires on the ring's
    /// retransmitted bytes (the receiver sees the sender's retransmissions arrive), and the report's bytes and rate are
    /// exactly those of its bins as the ring holds them (read back through ReadWindow). That the ring's retransmitted
    /// bytes match the sender's tcpi_bytes_retrans is RetransmitTests' ground truth; here the sender confirms the loss.
    /// </summary>
    [Fact]
    public async Task RetransmitRate_UnderRealLoss_ReportsTheRingsRetransmittedBytesOfItsBins()
    {
        const int Bins = 20;
        await using var net = await RoutedNetwork.CreateAsync(2, offloads: false, prefix: Prefix);
        string sender = net.Leaves[0], receiver = net.Leaves[1];
        await net.Lab.AddRandomDropAsync(net.Router, perMille: 20, outputInterface: RoutedNetwork.RouterPort(1));
        await using var coordinator = await FakeCoordinatorForTriggers.StartAsync();
        await using var agent = await InProcessAgent.StartAsync(receiver, "loss-host", "rack-t", lookback: true, $"--Agent:CoordinatorAddress=http://127.0.0.1:{coordinator.Port}",
            "--Agent:Triggers:Rules:0:Name=loss", "--Agent:Triggers:Rules:0:Kind=RetransmitRate", $"--Agent:Triggers:Rules:0:Bins={Bins}",
            "--Agent:Triggers:Rules:0:RetransmitBytesPerSecond=100000", "--Agent:Triggers:Rules:0:Cooldown=00:01:00");
        await WaitAsync(() => !coordinator.Registrations.IsEmpty, "the agent never registered");
        await using var sink = TcpSink.Start(receiver, new IPEndPoint(RoutedNetwork.Address(1), 5002));

        var bulk = await TcpBulkSender.RunAsync(new TcpBulkOptions
        {
            Namespace = sender,
            Target = new IPEndPoint(RoutedNetwork.Address(1), 5002),
            Connections = 2,
            Duration = TimeSpan.FromSeconds(2),
        });
        await WaitAsync(() => !coordinator.Reports.IsEmpty, $"no report; the sender retransmitted {bulk.Totals.BytesRetrans} bytes");
        Assert.True(coordinator.Reports.TryPeek(out var report));
        output.WriteLine($"sender retransmitted {bulk.Totals.BytesRetrans} bytes; report bins {report.FirstBin}..{report.LastBin}: " +
            string.Join(", ", report.Values.Select(v => $"{v.Key}={v.Value}")));

        Assert.True(bulk.Totals.BytesRetrans > 0, "no loss: the router's drop rule did not act");
        Assert.Equal(("loss-host", "rack-t", "loss", Ms), (report.Host, report.Rack, report.Rule, report.BinWidthNs));
        Assert.Equal(Bins, report.LastBin - report.FirstBin + 1);
        Assert.Equal((report.LastBin + 1) * Ms, report.InstantTaiNs);

        var window = await agent.Client.ReadWindowAsync(new ReadWindowRequest { RunId = "loss-window", FirstBin = report.FirstBin, Bins = Bins, BinWidthNs = Ms, Requester = "test" });
        ulong retransmitted = window.Series.IngressRetransmitBytes.Sum() + window.Series.EgressRetransmitBytes.Sum();
        Assert.True(retransmitted > 0, "the ring holds no retransmitted bytes in the reported bins");
        Assert.Equal((double)retransmitted, report.Values["retransmit_bytes"]);
        double rate = retransmitted / (Bins * Ms / 1e9);
        Assert.Equal(rate, report.Values["retransmit_bytes_per_second"], 6);
        Assert.True(rate > 100_000, $"fired at {rate} B/s, not above the rule's 100,000");
        Assert.Single(coordinator.Reports); // the rule's cooldown (1 min) held for the rest of the transfer
    }

    /// <summary>How many 1 ms bins late the ingress hook may see a datagram on a loaded machine (softirq deferral).</summary>
    private const long IngressLagBins = 8;

    /// <summary>Sends datagrams back to back for <paramref name="ns"/> nanoseconds.</summary>
    private static void Send(Socket socket, IPEndPoint to, byte[] payload, long ns)
    {
        long end = TaiClock.NowNs() + ns;
        while (TaiClock.NowNs() < end)
        {
            socket.SendTo(payload, to);
            Thread.SpinWait(2000);
        }
    }

    private static async Task WaitAsync(Func<bool> condition, string message)
    {
        var until = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < until, message);
            await Task.Delay(50);
        }
    }

    /// <summary>A MembershipService that accepts registrations and records trigger reports (the coordinator's decision is not what this test is about).</summary>
    private sealed class FakeCoordinatorForTriggers : MembershipService.MembershipServiceBase, IAsyncDisposable
    {
        private WebApplication? _app;

        public ConcurrentQueue<RegisterRequest> Registrations { get; } = new();
        public ConcurrentQueue<TriggerReport> Reports { get; } = new();
        public int Port { get; private set; }

        public static async Task<FakeCoordinatorForTriggers> StartAsync()
        {
            var fake = new FakeCoordinatorForTriggers();
            using (var listener = new TcpListener(IPAddress.Loopback, 0))
            {
                listener.Start();
                fake.Port = ((IPEndPoint)listener.LocalEndpoint).Port;
            }
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, fake.Port, l => l.Protocols = HttpProtocols.Http2));
            builder.Services.AddGrpc();
            builder.Services.AddSingleton(fake);
            fake._app = builder.Build();
            fake._app.MapGrpcService<FakeCoordinatorForTriggers>();
            await fake._app.StartAsync();
            return fake;
        }

        public override Task<RegisterResponse> Register(RegisterRequest request, ServerCallContext context)
        {
            Registrations.Enqueue(request);
            return Task.FromResult(new RegisterResponse { CoordinatorId = "fake-coordinator", HeartbeatIntervalMs = 1000 });
        }

        public override Task<HeartbeatResponse> Heartbeat(HeartbeatRequest request, ServerCallContext context) => Task.FromResult(new HeartbeatResponse());

        public override Task<TriggerResponse> ReportTrigger(TriggerReport request, ServerCallContext context)
        {
            Reports.Enqueue(request);
            return Task.FromResult(new TriggerResponse { Accepted = true, CaptureId = "capture-1" });
        }

        public async ValueTask DisposeAsync()
        {
            if (_app is not null)
            {
                await _app.StopAsync();
                await _app.DisposeAsync();
            }
        }
    }
}
