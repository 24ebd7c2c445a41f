using System.Collections.Concurrent;
using System.Net;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;
using Millisampler.ServiceDefaults.Security;

namespace Millisampler.Coordinator.Tests.Infrastructure;

/// <summary>How a <see cref="FakeAgent"/> answers ScheduleRun.</summary>
internal enum ScheduleMode
{
    Accept,
    /// <summary>Answers with <see cref="FakeAgent.RefuseStatus"/> and <see cref="FakeAgent.RefuseMessage"/>.</summary>
    Refuse,
    /// <summary>Never answers (until the caller's deadline).</summary>
    Hang,
    /// <summary>UNAVAILABLE for the first <see cref="FakeAgent.FailFirstAttempts"/> calls, then accepts.</summary>
    FailFirst,
}

/// <summary>How a <see cref="FakeAgent"/> answers GetRun.</summary>
internal enum RunMode
{
    Complete,
    /// <summary>Returns RUN_STATUS_CUT_SHORT after <see cref="FakeAgent.CutShortAfterBins"/> bins.</summary>
    CutShort,
    Hang,
}

/// <summary>One ScheduleRun call as the fake agent saw it.</summary>
/// <param name="ArrivedTaiNs">TAI clock when the call arrived, ns.</param>
/// <param name="Deadline">The caller's deadline, UTC.</param>
/// <param name="Request">The request.</param>
internal sealed record ScheduleCall(long ArrivedTaiNs, DateTime Deadline, ScheduleRunRequest Request);

/// <summary>
/// An in-process agent over real gRPC on loopback (port 0; mutual TLS with a certificate naming its host from
/// <see cref="TestPki"/>, or h2c when insecure): answers GetInfo, ScheduleRun and GetRun with
/// synthetic runs, and can be told to refuse, fail or hang. Every host bursts at 90 % of its link in bins
/// [<see cref="BurstStartBin"/>, +<see cref="BurstBins"/>), so a rack of them shows one synchronized event.
/// </summary>
internal sealed class FakeAgent : AgentService.AgentServiceBase, IAsyncDisposable
{
    public const ulong LinkSpeedBitsPerSecond = 10_000_000_000;
    public const int BurstStartBin = 10;
    public const int BurstBins = 5;

    private readonly ConcurrentDictionary<string, ScheduleRunRequest> _runs = new(StringComparer.Ordinal);
    private readonly TaiClock _clock;
    private WebApplication? _app;
    private GrpcChannel? _coordinatorChannel;

    private FakeAgent(string host, string rack, TaiClock clock, bool secure)
    {
        Host = host;
        Rack = rack;
        _clock = clock;
        Secure = secure;
    }

    /// <summary>True when it serves mutual TLS and registers with its agent certificate.</summary>
    public bool Secure { get; }

    /// <summary>The certificate files it presents (secure only); tests may point them elsewhere.</summary>
    public Lab.Certificates.CertificateFiles? Certificates { get; set; }

    public string Host { get; }

    public string Rack { get; }

    public string Address { get; private set; } = "";

    public ScheduleMode ScheduleMode { get; set; } = ScheduleMode.Accept;

    public RunMode RunMode { get; set; } = RunMode.Complete;

    public StatusCode RefuseStatus { get; set; } = StatusCode.FailedPrecondition;

    public string RefuseMessage { get; set; } = "clock not synchronized";

    public int FailFirstAttempts { get; set; } = 1;

    public uint CutShortAfterBins { get; set; } = 10;

    public uint MaxBins { get; set; } = 2_000;

    public long MaxErrorNs { get; set; } = 20_000;

    public ConcurrentQueue<ScheduleCall> ScheduleCalls { get; } = new();

    /// <summary>The look-back rings it states in GetInfo and serves ReadWindow from: 1 ms × 4,000 unless changed; empty = recorder off.</summary>
    public List<LookbackRing> LookbackRings { get; } = [new LookbackRing { BinWidthNs = 1_000_000, DepthBins = 4_000 }];

    /// <summary>ReadWindow calls, with the TAI instant each arrived.</summary>
    public ConcurrentQueue<(long ArrivedTaiNs, ReadWindowRequest Request)> ReadWindowCalls { get; } = new();

    /// <summary>Every ReleaseRun the coordinator sent, in order.</summary>
    public ConcurrentQueue<ReleaseRunRequest> ReleaseCalls { get; } = new();

    /// <summary>
    /// Added to the TAI timestamps it puts in <see cref="ClockSample"/>s, ns: a host whose clock runs this far ahead of the
    /// coordinator's (the shared test clock).
    /// </summary>
    public long ClockShiftNs { get; set; }

    /// <summary>
    /// Absolute bins (on the 1 ms grid unless the window's width differs) in which ReadWindow's synthetic series bursts at
    /// 90 % of the link; empty = the burst sits at relative bins <see cref="BurstStartBin"/>.. as for armed runs.
    /// </summary>
    public HashSet<long> BurstAbsoluteBins { get; } = [];

    public int GetRunCalls => _getRunCalls;

    private int _getRunCalls;

    public static async Task<FakeAgent> StartAsync(string host, string rack, TaiClock clock, bool secure = true)
    {
        var agent = new FakeAgent(host, rack, clock, secure);
        TlsCertificates? server = null;
        if (secure)
        {
            agent.Certificates = TestPki.Files(host, [Roles.Agent], [host]);
            server = TestPki.Source(agent.Certificates);
        }

        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l =>
        {
            l.Protocols = HttpProtocols.Http2;
            if (server is not null)
            {
                l.UseMutualTls(server, requireClientCertificate: true, MutualTls.RequireRole(Roles.Coordinator));
            }
        }));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(agent);
        WebApplication app = builder.Build();
        app.MapGrpcService<FakeAgent>();
        await app.StartAsync();
        string url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        agent.Address = new Uri(url).Authority;
        agent._app = app;
        return agent;
    }

    /// <summary>Registers with the coordinator at <paramref name="coordinatorGrpcUrl"/>, as a real agent does at start.</summary>
    public async Task RegisterAsync(string coordinatorGrpcUrl, string? address = null)
    {
        if (_coordinatorChannel is not null && _coordinatorChannel.Target != new Uri(coordinatorGrpcUrl).Authority)
        {
            // Another coordinator (a restart on a new port): register there.
            _coordinatorChannel.Dispose();
            _coordinatorChannel = null;
        }

        _coordinatorChannel ??= Secure
            ? GrpcChannel.ForAddress(coordinatorGrpcUrl, new GrpcChannelOptions
            {
                HttpHandler = new SocketsHttpHandler().UseMutualTls(TestPki.Source(Certificates!), MutualTls.RequireRole(Roles.Coordinator)),
            })
            : GrpcChannel.ForAddress(coordinatorGrpcUrl);
        var client = new MembershipService.MembershipServiceClient(_coordinatorChannel);
        var request = new RegisterRequest
        {
            Host = Host,
            Rack = Rack,
            Address = address ?? Address,
            Clock = Clock(),
            AgentVersion = "fake-1",
        };
        request.Interfaces.Add(Interface());
        await client.RegisterAsync(request);
    }

    public override Task<AgentInfo> GetInfo(GetInfoRequest request, ServerCallContext context)
    {
        long arrived = _clock.NowNs();
        var info = new AgentInfo
        {
            Host = Host,
            Rack = Rack,
            AttachMode = "tcx",
            Clock = Clock(),
            CpuCount = 2,
            MaxBins = MaxBins,
            MinBinWidthNs = 100_000,
            MaxBinWidthNs = 1_000_000_000,
            MaxLeadNs = 60_000_000_000,
            AgentVersion = "fake-1",
            Address = Address,
        };
        info.Interfaces.Add(Interface());
        info.LookbackRings.AddRange(LookbackRings.Select(r => r.Clone()));
        info.ClockSample = Sample(arrived);
        return Task.FromResult(info);
    }

    public override async Task<ScheduleRunResponse> ScheduleRun(ScheduleRunRequest request, ServerCallContext context)
    {
        long arrived = _clock.NowNs();
        ScheduleCalls.Enqueue(new ScheduleCall(arrived, context.Deadline, request));
        switch (ScheduleMode)
        {
            case ScheduleMode.Refuse:
                throw new RpcException(new Status(RefuseStatus, RefuseMessage));
            case ScheduleMode.Hang:
                await Task.Delay(Timeout.Infinite, context.CancellationToken);
                break;
            case ScheduleMode.FailFirst when ScheduleCalls.Count <= FailFirstAttempts:
                throw new RpcException(new Status(StatusCode.Unavailable, "agent is restarting"));
        }

        bool duplicate = !_runs.TryAdd(request.RunId, request);
        return new ScheduleRunResponse
        {
            RunId = request.RunId,
            StartTaiNs = request.StartTaiNs,
            Duplicate = duplicate,
            Clock = Clock(),
            ClockSample = Sample(arrived),
        };
    }

    /// <summary>As the real agent's ReadWindow: FAILED_PRECONDITION when no ring of the width, the window not wholly past, or its first bin overwritten.</summary>
    public override Task<ReleaseRunResponse> ReleaseRun(ReleaseRunRequest request, ServerCallContext context)
    {
        ReleaseCalls.Enqueue(request);
        return Task.FromResult(new ReleaseRunResponse { Released = _runs.ContainsKey(request.RunId) });
    }

    public override Task<Run> ReadWindow(ReadWindowRequest request, ServerCallContext context)
    {
        long now = _clock.NowNs();
        ReadWindowCalls.Enqueue((now, request));
        if (LookbackRings.Count == 0)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, "the look-back recorder is off"));
        }

        LookbackRing ring = LookbackRings.FirstOrDefault(r => r.BinWidthNs == request.BinWidthNs)
            ?? throw new RpcException(new Status(StatusCode.FailedPrecondition, $"no look-back ring of width {request.BinWidthNs} ns"));
        long nowBin = now / request.BinWidthNs;
        if (request.FirstBin + request.Bins > nowBin)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"window not wholly past yet: ends at bin {request.FirstBin + request.Bins}, now bin {nowBin}"));
        }

        long oldest = nowBin - ring.DepthBins + 1;
        if (request.FirstBin < oldest)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"first bin {request.FirstBin} overwritten; oldest held {oldest}"));
        }

        var scheduled = new ScheduleRunRequest { RunId = request.RunId, StartTaiNs = request.FirstBin * request.BinWidthNs, BinWidthNs = request.BinWidthNs, Bins = request.Bins };
        Run run = SyntheticRun(Host, Rack, scheduled, request.Bins, Clock(),
            BurstAbsoluteBins.Count == 0 ? null : i => BurstAbsoluteBins.Contains(request.FirstBin + i));
        run.Origin = RunOrigin.Lookback;
        return Task.FromResult(run);
    }

    private ClockSample Sample(long arrivedTaiNs) => new()
    {
        ReceiveTaiNs = arrivedTaiNs + ClockShiftNs,
        TransmitTaiNs = _clock.NowNs() + ClockShiftNs,
    };

    public override async Task<Run> GetRun(GetRunRequest request, ServerCallContext context)
    {
        Interlocked.Increment(ref _getRunCalls);
        if (!_runs.TryGetValue(request.RunId, out ScheduleRunRequest? scheduled))
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"no run {request.RunId}"));
        }

        if (RunMode == RunMode.Hang)
        {
            await Task.Delay(Timeout.Infinite, context.CancellationToken);
        }

        uint recorded = RunMode == RunMode.CutShort ? Math.Min(CutShortAfterBins, scheduled.Bins) : scheduled.Bins;
        return SyntheticRun(Host, Rack, scheduled, recorded, Clock());
    }

    /// <summary>A run of <paramref name="recorded"/> bins: light traffic, and a burst at 90 % of the link in the burst bins.</summary>
    public static Run SyntheticRun(string host, string rack, ScheduleRunRequest scheduled, uint recorded, ClockState clock,
        Func<int, bool>? isBurst = null)
    {
        ulong capacityBytes = (ulong)(LinkSpeedBitsPerSecond / 8.0 * scheduled.BinWidthNs / 1e9);
        var series = new RunSeries();
        for (int i = 0; i < recorded; i++)
        {
            bool burst = isBurst?.Invoke(i) ?? (i >= BurstStartBin && i < BurstStartBin + BurstBins);
            ulong bytes = burst ? capacityBytes * 9 / 10 : capacityBytes / 100;
            series.IngressBytes.Add(bytes);
            series.EgressBytes.Add(bytes / 2);
            series.IngressCeBytes.Add(burst ? bytes / 10 : 0);
            series.IngressRetransmitBytes.Add(0);
            series.IngressConnections.Add(burst ? 40u : 2u);
        }

        var run = new Run
        {
            RunId = scheduled.RunId,
            Host = host,
            Rack = rack,
            Origin = RunOrigin.Coordinator,
            StartTaiNs = scheduled.StartTaiNs,
            BinWidthNs = scheduled.BinWidthNs,
            Bins = scheduled.Bins,
            BinsRecorded = recorded,
            ClockAtArm = clock,
            Status = recorded < scheduled.Bins ? RunStatus.CutShort : RunStatus.Complete,
            StatusDetail = recorded < scheduled.Bins ? "agent stopped" : "",
            Series = series,
            CpuCount = 2,
            AttachMode = "tcx",
        };
        run.Interfaces.Add(Interface());
        return run;
    }

    public async ValueTask DisposeAsync()
    {
        _coordinatorChannel?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    private ClockState Clock() => new()
    {
        Synchronized = true,
        EstimatedErrorNs = MaxErrorNs / 2,
        MaxErrorNs = MaxErrorNs,
        TaiOffsetSeconds = _clock.TaiOffsetSeconds,
        Source = ClockSource.Tai,
    };

    private static InterfaceInfo Interface() => new()
    {
        Name = "eth0",
        Ifindex = 2,
        LinkSpeedBitsPerSecond = LinkSpeedBitsPerSecond,
        LinkSpeedSource = "nic",
    };
}
