using System.Collections.Concurrent;
using System.Net;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Millisampler.Contracts.V1;
using Millisampler.Lab.Certificates;
using Millisampler.ServiceDefaults.Security;

namespace Millisampler.Benchmarks;

/// <summary>
/// Racks of fake agents for <see cref="CoordinatorBenchmark"/> and <see cref="FleetBenchmark"/>: one Kestrel server
/// listening on one loopback port per agent (h2c, or mutual TLS with a certificate per agent naming its host when
/// given a <see cref="LabCertificates"/>), so the coordinator opens one channel and one connection per agent
/// as it would to real hosts. An agent is told apart by the local port of the call. Every ScheduleRun is accepted; GetRun returns a
/// synthetic run of the requested bins at once.
/// </summary>
internal sealed class CoordinatorBenchmarkAgents : AgentService.AgentServiceBase, IAsyncDisposable
{
    private const ulong LinkSpeed = 12_500_000_000;
    private readonly ConcurrentDictionary<(string Host, string RunId), ScheduleRunRequest> _runs = new();
    private readonly Dictionary<int, (string Host, string Rack)> _hostByPort = [];
    private readonly List<ListenOptions> _listeners = [];
    private WebApplication? _app;

    /// <summary>The first rack's name (the only one unless several were asked for).</summary>
    public string Rack => Racks[0];

    public IReadOnlyList<string> Racks { get; private set; } = [];

    /// <summary>Host name, rack and host:port of every agent.</summary>
    public IReadOnlyList<(string Host, string Rack, string Address)> Agents { get; private set; } = [];

    /// <summary>GetRun calls answered (one per host and run collected).</summary>
    public long RunsServed => Interlocked.Read(ref _runsServed);

    private long _runsServed;

    /// <summary>Each agent's certificate files (mutual TLS only), by host.</summary>
    public IReadOnlyDictionary<string, CertificateFiles> Certificates { get; private set; } = new Dictionary<string, CertificateFiles>();

    /// <summary>One rack of <paramref name="count"/> agents named bench-rack; mutual TLS when <paramref name="pki"/> is given.</summary>
    public static Task<CoordinatorBenchmarkAgents> StartAsync(int count, LabCertificates? pki = null) => StartAsync(1, count, pki);

    /// <summary><paramref name="racks"/> racks of <paramref name="hostsPerRack"/> agents: rack001/r001h01, ... (bench-rack/host001 for one rack).</summary>
    public static async Task<CoordinatorBenchmarkAgents> StartAsync(int racks, int hostsPerRack, LabCertificates? pki = null)
    {
        int count = racks * hostsPerRack;
        var agents = new CoordinatorBenchmarkAgents();
        string[] racksNamed = racks == 1 ? ["bench-rack"] : [.. Enumerable.Range(1, racks).Select(r => $"rack{r:000}")];
        string[] hosts = [.. Enumerable.Range(0, count).Select(i => racks == 1 ? $"host{i + 1:000}" : $"r{(i / hostsPerRack) + 1:000}h{(i % hostsPerRack) + 1:00}")];
        var files = new Dictionary<string, CertificateFiles>(StringComparer.Ordinal);
        if (pki is not null)
        {
            foreach (string host in hosts)
            {
                files[host] = pki.Agent(host, IPAddress.Loopback);
            }
        }

        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            for (int i = 0; i < count; i++)
            {
                TlsCertificates? server = pki is null ? null : Source(files[hosts[i]]);
                k.Listen(IPAddress.Loopback, 0, l =>
                {
                    l.Protocols = HttpProtocols.Http2;
                    if (server is not null)
                    {
                        l.UseMutualTls(server, requireClientCertificate: true, MutualTls.RequireRole(Roles.Coordinator));
                    }

                    agents._listeners.Add(l);
                });
            }
        });
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(agents);
        WebApplication app = builder.Build();
        app.MapGrpcService<CoordinatorBenchmarkAgents>();
        await app.StartAsync();
        agents._app = app;
        var list = new List<(string, string, string)>();
        agents.Racks = racksNamed;
        for (int i = 0; i < agents._listeners.Count; i++)
        {
            int port = agents._listeners[i].IPEndPoint!.Port;
            string rack = agents.Racks[i / hostsPerRack];
            agents._hostByPort[port] = (hosts[i], rack);
            list.Add((hosts[i], rack, $"127.0.0.1:{port}"));
        }

        agents.Agents = list;
        agents.Certificates = files;
        return agents;
    }

    /// <summary>A certificate source over <paramref name="files"/>, as the services build one.</summary>
    public static TlsCertificates Source(CertificateFiles files) =>
        new(Microsoft.Extensions.Options.Options.Create(new SecurityOptions { CertificatePath = files.CertificatePath, KeyPath = files.KeyPath, CaPath = files.CaPath }),
            TimeProvider.System, NullLogger<TlsCertificates>.Instance);

    public override Task<AgentInfo> GetInfo(GetInfoRequest request, ServerCallContext context)
    {
        (string host, string rack) = HostOf(context);
        var info = new AgentInfo
        {
            Host = host,
            Rack = rack,
            AttachMode = "tcx",
            Clock = Clock(),
            CpuCount = 2,
            MaxBins = 2000,
            MinBinWidthNs = 100_000,
            MaxBinWidthNs = 1_000_000_000,
            MaxLeadNs = 60_000_000_000,
        };
        info.Interfaces.Add(Interface());
        info.LookbackRings.Add(new LookbackRing { BinWidthNs = 1_000_000, DepthBins = 4_000 });
        return Task.FromResult(info);
    }

    /// <summary>A look-back window: the same synthetic series as a run (the trigger benchmark's captures read these).</summary>
    public override Task<Run> ReadWindow(ReadWindowRequest request, ServerCallContext context)
    {
        _runs.TryAdd((HostOf(context).Host, request.RunId), new ScheduleRunRequest
        {
            RunId = request.RunId,
            StartTaiNs = request.FirstBin * request.BinWidthNs,
            BinWidthNs = request.BinWidthNs,
            Bins = request.Bins,
        });
        return GetRun(new GetRunRequest { RunId = request.RunId }, context);
    }

    public override Task<ScheduleRunResponse> ScheduleRun(ScheduleRunRequest request, ServerCallContext context)
    {
        bool duplicate = !_runs.TryAdd((HostOf(context).Host, request.RunId), request);
        return Task.FromResult(new ScheduleRunResponse { RunId = request.RunId, StartTaiNs = request.StartTaiNs, Duplicate = duplicate, Clock = Clock() });
    }

    public override Task<Run> GetRun(GetRunRequest request, ServerCallContext context)
    {
        (string host, string rack) = HostOf(context);
        if (!_runs.TryRemove((host, request.RunId), out ScheduleRunRequest? s))
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"no run {request.RunId}"));
        }

        var rng = new Random(HashCode.Combine(host, request.RunId));
        ulong capacity = (ulong)(LinkSpeed / 8.0 * s.BinWidthNs / 1e9);
        var series = new RunSeries();
        for (int i = 0; i < s.Bins; i++)
        {
            ulong bytes = (ulong)(capacity * (rng.NextDouble() < 0.05 ? 0.8 : 0.05));
            series.IngressBytes.Add(bytes);
            series.EgressBytes.Add(bytes / 3);
            series.IngressCeBytes.Add(bytes / 50);
            series.IngressRetransmitBytes.Add(0);
            series.IngressConnections.Add((uint)rng.Next(1, 64));
        }

        var run = new Run
        {
            RunId = s.RunId,
            Host = host,
            Rack = rack,
            Origin = RunOrigin.Coordinator,
            StartTaiNs = s.StartTaiNs,
            BinWidthNs = s.BinWidthNs,
            Bins = s.Bins,
            BinsRecorded = s.Bins,
            ClockAtArm = Clock(),
            Status = RunStatus.Complete,
            Series = series,
        };
        run.Interfaces.Add(Interface());
        Interlocked.Increment(ref _runsServed);
        return Task.FromResult(run);
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    private (string Host, string Rack) HostOf(ServerCallContext context) => _hostByPort[context.GetHttpContext().Connection.LocalPort];

    private static ClockState Clock() => new() { Synchronized = true, MaxErrorNs = 20_000, EstimatedErrorNs = 5_000, Source = ClockSource.Tai };

    private static InterfaceInfo Interface() => new() { Name = "eth0", Ifindex = 2, LinkSpeedBitsPerSecond = LinkSpeed, LinkSpeedSource = "nic" };
}
