using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Millisampler.Agent.Registration;
using Millisampler.Agent.Tests.Service;
using Millisampler.Contracts.V1;

namespace Millisampler.Agent.Tests.Registration;

/// <summary>Registration and heartbeats against a fake coordinator over real gRPC on 127.0.0.1.</summary>
public sealed class CoordinatorRegistrationTests
{
    private static readonly string[] FastRetries =
    [
        "--Agent:RegistrationRetryBaseDelay=00:00:00.1",
        "--Agent:RegistrationRetryMaxDelay=00:00:00.4",
        "--Agent:CoordinatorCallTimeout=00:00:02",
    ];

    [Fact]
    public async Task CoordinatorDownAtFirst_RetriesWithBackoff_ThenRegistersAndHeartbeats_ServingMeanwhile()
    {
        int port = FreePort();
        await using var agent = await AgentTestHost.StartAsync([.. FastRetries, $"--Agent:CoordinatorAddress=127.0.0.1:{port}"]);

        await PumpUntilAsync(agent, () => Retries(agent).Count >= 4);
        var info = await agent.Client.GetInfoAsync(new GetInfoRequest()); // the agent serves while the coordinator is away
        await using var coordinator = await FakeCoordinator.StartAsync(port);
        await PumpUntilAsync(agent, () => coordinator.Heartbeats.Count >= 2);

        var register = coordinator.Registrations.First();
        Assert.Equal(("test-host", "rack-1"), (register.Host, register.Rack));
        Assert.Equal(info.Address, register.Address);
        Assert.Equal($"127.0.0.1:{new Uri(agent.Address).Port}", register.Address);
        Assert.Equal("eth0", Assert.Single(register.Interfaces).Name);
        Assert.Equal(12_500_000_000UL, register.Interfaces[0].LinkSpeedBitsPerSecond);
        Assert.True(register.Clock.Synchronized);
        Assert.False(string.IsNullOrEmpty(register.AgentVersion));
        Assert.Equal(("test-host", "rack-1"), (coordinator.Heartbeats.First().Host, coordinator.Heartbeats.First().Rack));
        Assert.Equal("fake-coordinator", agent.Services.GetRequiredService<CoordinatorRegistration>().CoordinatorId);
        // Exponential backoff with jitter, capped at RegistrationRetryMaxDelay.
        var delays = Retries(agent);
        Assert.All(delays, d => Assert.InRange(d, 1, 400));
        Assert.True(delays.Max() > 100, $"delays did not grow: {string.Join(", ", delays)}");
    }

    [Fact]
    public async Task HeartbeatAnsweredNotFound_RegistersAgain()
    {
        int port = FreePort();
        await using var coordinator = await FakeCoordinator.StartAsync(port);
        await using var agent = await AgentTestHost.StartAsync([.. FastRetries, $"--Agent:CoordinatorAddress=http://127.0.0.1:{port}"]);
        await PumpUntilAsync(agent, () => coordinator.Heartbeats.Count >= 1);

        coordinator.Forget();
        await PumpUntilAsync(agent, () => coordinator.Registrations.Count >= 2 && coordinator.Heartbeats.Count >= 2 && coordinator.Known);

        Assert.Equal(2, agent.Services.GetRequiredService<CoordinatorRegistration>().Registrations);
        Assert.Contains(agent.Logs.Entries, e => e.Id.Id == 2404);
    }

    [Fact]
    public async Task NoCoordinatorAddress_RunsStandAlone()
    {
        await using var agent = await AgentTestHost.StartAsync();

        await AgentGrpcServiceTests.WaitUntilAsync(() => agent.Logs.Entries.Any(e => e.Id.Id == 2401));
        Assert.Equal(0, agent.Services.GetRequiredService<CoordinatorRegistration>().Registrations);
    }

    /// <summary>Retry delays the agent logged, ms.</summary>
    private static List<double> Retries(AgentTestHost agent) =>
        agent.Logs.Entries.Where(e => e.Id.Id == 2403)
            .Select(e => double.Parse(e.Message[(e.Message.LastIndexOf("retrying in ", StringComparison.Ordinal) + 12)..].Split(' ')[0], CultureInfo.InvariantCulture))
            .ToList();

    /// <summary>Moves the agent's fake clock (its backoff and heartbeat timers) along until <paramref name="condition"/> holds, 20 s real time at most.</summary>
    private static async Task PumpUntilAsync(AgentTestHost agent, Func<bool> condition)
    {
        var until = DateTime.UtcNow.AddSeconds(20);
        while (!condition() && DateTime.UtcNow < until)
        {
            agent.Time.Advance(TimeSpan.FromMilliseconds(50));
            await Task.Delay(10);
        }
        Assert.True(condition(), "not reached in 20 s; agent log:\n" + string.Join("\n", agent.Logs.Entries.Select(e => e.Message)));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A MembershipService that records what agents send and can forget them, as a restarted coordinator does.</summary>
    private sealed class FakeCoordinator : MembershipService.MembershipServiceBase, IAsyncDisposable
    {
        private WebApplication? _app;
        private volatile bool _known;

        public ConcurrentQueue<RegisterRequest> Registrations { get; } = new();
        public ConcurrentQueue<HeartbeatRequest> Heartbeats { get; } = new();
        public bool Known => _known;

        public static async Task<FakeCoordinator> StartAsync(int port)
        {
            var fake = new FakeCoordinator();
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, l => l.Protocols = HttpProtocols.Http2));
            builder.Services.AddGrpc();
            builder.Services.AddSingleton(fake);
            fake._app = builder.Build();
            fake._app.MapGrpcService<FakeCoordinator>();
            await fake._app.StartAsync();
            return fake;
        }

        public void Forget() => _known = false;

        public override Task<RegisterResponse> Register(RegisterRequest request, ServerCallContext context)
        {
            Registrations.Enqueue(request);
            _known = true;
            return Task.FromResult(new RegisterResponse { CoordinatorId = "fake-coordinator", HeartbeatIntervalMs = 200 });
        }

        public override Task<HeartbeatResponse> Heartbeat(HeartbeatRequest request, ServerCallContext context)
        {
            if (!_known)
            {
                throw new RpcException(new Status(StatusCode.NotFound, $"host '{request.Host}' is not registered in rack '{request.Rack}'; register again"));
            }

            Heartbeats.Enqueue(request);
            return Task.FromResult(new HeartbeatResponse());
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
