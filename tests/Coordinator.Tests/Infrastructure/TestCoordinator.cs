using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Api;
using Millisampler.ServiceDefaults.Security;
using Millisampler.Tests.Fuzz;

namespace Millisampler.Coordinator.Tests.Infrastructure;

/// <summary>
/// The real coordinator (the same <see cref="CoordinatorApp.Build"/> as the executable) on loopback port 0, with
/// short timings so a capture of 1 ms × 100 bins takes well under a second, plus a rack of <see cref="FakeAgent"/>s.
/// </summary>
internal sealed class TestCoordinator : IAsyncDisposable
{
    private readonly List<FakeAgent> _agents = [];

    private TestCoordinator(WebApplication app, string databasePath, bool ownsDatabase, bool secure, CapturedLogs logs)
    {
        App = app;
        Logs = logs;
        DatabasePath = databasePath;
        OwnsDatabase = ownsDatabase;
        Secure = secure;
        KestrelEndpoints endpoints = app.Services.GetRequiredService<KestrelEndpoints>();
        string scheme = secure ? "https" : "http";
        GrpcUrl = $"{scheme}://127.0.0.1:{endpoints.GrpcEndPoint!.Port}";
        HttpUrl = $"{scheme}://127.0.0.1:{endpoints.HttpEndPoint!.Port}";
        // The tests' own client is an admin (it may do everything); security tests open their own channels.
        Channel = OpenChannel("test-admin", Roles.Admin);
        Client = new CoordinatorService.CoordinatorServiceClient(Channel);
        Http = new HttpClient(secure ? TestPki.Handler("test-admin", Roles.Admin) : new SocketsHttpHandler()) { BaseAddress = new Uri(HttpUrl) };
    }

    /// <summary>True when it runs with certificates (the default); false with Security:Insecure=true.</summary>
    public bool Secure { get; }

    /// <summary>A channel to the gRPC port presenting a certificate for <paramref name="name"/> with <paramref name="roles"/> (none when null).</summary>
    public GrpcChannel OpenChannel(string? name, params string[] roles) => Secure
        ? GrpcChannel.ForAddress(GrpcUrl, new GrpcChannelOptions { HttpHandler = TestPki.Handler(name, roles) })
        : GrpcChannel.ForAddress(GrpcUrl);

    /// <summary>The clock both the coordinator and the fake agents read.</summary>
    public static TaiClock Clock { get; } = new TimeProviderTaiClock(TimeProvider.System, 37);

    public WebApplication App { get; }

    /// <summary>Everything the coordinator logged (at the levels its arguments set).</summary>
    public CapturedLogs Logs { get; }

    public string DatabasePath { get; }

    private bool OwnsDatabase { get; }

    public string GrpcUrl { get; }

    public string HttpUrl { get; }

    public GrpcChannel Channel { get; }

    public CoordinatorService.CoordinatorServiceClient Client { get; }

    public HttpClient Http { get; }

    public IReadOnlyList<FakeAgent> Agents => _agents;

    /// <summary>Starts a coordinator on a new temporary database, or on <paramref name="databasePath"/> (kept on dispose).</summary>
    public static Task<TestCoordinator> StartAsync(string? databasePath = null, params string[] extraArgs) =>
        StartAsync(secure: true, databasePath, extraArgs);

    /// <summary>Starts a coordinator with certificates from <see cref="TestPki"/>, or in insecure mode.</summary>
    public static Task<TestCoordinator> StartAsync(bool secure, string? databasePath = null, params string[] extraArgs) =>
        StartAsync(secure, databasePath, services: null, extraArgs);

    /// <summary>
    /// As above, with <paramref name="services"/> registered before the coordinator's own services (fakes the coordinator
    /// keeps when it registers with TryAdd, e.g. a FakeTriggerGate).
    /// </summary>
    public static async Task<TestCoordinator> StartAsync(bool secure, string? databasePath, Action<IServiceCollection>? services, params string[] extraArgs)
    {
        bool owns = databasePath is null;
        databasePath ??= Path.Combine(Path.GetTempPath(), $"coordinator-test-{Guid.NewGuid():N}", "captures.db");
        string scheme = secure ? "https" : "http";
        string[] args =
        [
            "--grpc-url", $"{scheme}://127.0.0.1:0",
            "--http-url", $"{scheme}://127.0.0.1:0",
            .. secure ? TestPki.CoordinatorSettings() : ["--Security:Insecure=true"],
            "--db", databasePath,
            "--Coordinator:Captures:LeadTimeFloor=00:00:00.300",
            "--Coordinator:Captures:ScheduleMargin=00:00:00.020",
            "--Coordinator:Captures:ScheduleAttemptTimeout=00:00:00.500",
            "--Coordinator:Captures:CollectGrace=00:00:00.050",
            "--Coordinator:Captures:CollectTimeout=00:00:01",
            "--Coordinator:Membership:HeartbeatInterval=00:00:01",
            "--Logging:LogLevel:Default=Warning",
            "--Logging:LogLevel:Millisampler=Warning",
            .. extraArgs,
        ];
        var logs = new CapturedLogs();
        WebApplication app = CoordinatorApp.Build(args, b =>
        {
            b.Services.AddSingleton(Clock);
            services?.Invoke(b.Services);
            b.Logging.AddProvider(logs);
        });
        Assert.Empty(CoordinatorApp.ValidateConfiguration(app.Services));
        await app.StartAsync();
        return new TestCoordinator(app, databasePath, owns, secure, logs);
    }

    /// <summary>Starts <paramref name="count"/> fake agents named h01.. in <paramref name="rack"/> and registers them.</summary>
    public async Task<IReadOnlyList<FakeAgent>> AddAgentsAsync(int count, string rack = "r1", Action<int, FakeAgent>? configure = null)
    {
        FakeAgent[] agents = await Task.WhenAll(Enumerable.Range(_agents.Count + 1, count)
            .Select(i => FakeAgent.StartAsync($"h{i:00}", rack, Clock, Secure)));
        for (int i = 0; i < agents.Length; i++)
        {
            configure?.Invoke(i, agents[i]);
            await agents[i].RegisterAsync(GrpcUrl);
        }

        _agents.AddRange(agents);
        return agents;
    }

    /// <summary>Waits until the coordinator's GetInfo probe of every agent has answered (limits, rings and clock offset known).</summary>
    public async Task WaitForProbesAsync()
    {
        var registry = App.Services.GetRequiredService<Millisampler.Coordinator.Membership.MembershipRegistry>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (!_agents.All(a => registry.Find(a.Host) is { Limits: not null, Offset: not null }))
        {
            await Task.Delay(20, cts.Token);
        }
    }

    /// <summary>Follows WatchCapture until the capture is analysed or failed, then returns it with its analysis.</summary>
    public async Task<Capture> WaitForEndAsync(string captureId, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(20));
        using AsyncServerStreamingCall<CaptureProgress> watch = Client.WatchCapture(new WatchCaptureRequest { CaptureId = captureId }, cancellationToken: cts.Token);
        await foreach (CaptureProgress _ in watch.ResponseStream.ReadAllAsync(cts.Token))
        {
        }

        return await Client.GetCaptureAsync(new GetCaptureRequest { CaptureId = captureId });
    }

    /// <summary>A request for a short capture: 1 ms × 100 bins.</summary>
    public static StartCaptureRequest ShortCapture(string rack = "r1", uint bins = 100) =>
        new() { Rack = rack, BinWidthNs = 1_000_000, Bins = bins };

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        Channel.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        foreach (FakeAgent agent in _agents)
        {
            await agent.DisposeAsync();
        }

        if (OwnsDatabase)
        {
            try
            {
                Directory.Delete(Path.GetDirectoryName(DatabasePath)!, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
