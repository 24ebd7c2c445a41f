using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Millisampler.Agent.Bpf;
using Millisampler.Agent.Clock;
using Millisampler.Agent.Sampling;
using Millisampler.Agent.Service;
using Millisampler.Contracts.V1;
using Millisampler.Lab;

namespace Millisampler.Agent.Tests.Kernel;

/// <summary>
/// The real agent host in this process, its engine a real sampler attached to eth0 inside a namespace (with the look-back
/// ring when asked); gRPC on 127.0.0.1:0. Extra settings (trigger rules, a coordinator address) are appended.
/// </summary>
internal sealed class InProcessAgent : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly RunRecorder _engine;
    private readonly string _store;

    private InProcessAgent(WebApplication app, RunRecorder engine, string store)
    {
        _app = app;
        _engine = engine;
        _store = store;
        Channel = GrpcChannel.ForAddress(app.Urls.First());
        Client = new AgentService.AgentServiceClient(Channel);
    }

    public GrpcChannel Channel { get; }
    public AgentService.AgentServiceClient Client { get; }

    public static async Task<InProcessAgent> StartAsync(string ns, string host, string rack = "kernel-rack", bool lookback = false, params string[] settings)
    {
        var clock = new HostClock(ClockErrorSource.SharedHostClock);
        var identity = new HostIdentity(host, rack, [new InterfaceInfo { Name = "eth0", Ifindex = NetNs.GetIfIndex(ns, "eth0") }]);
        var sampler = lookback
            ? Sampler.Open(ns, "eth0", o => o with { Load = o.Load with { Lookback = new LookbackRingOptions() } })
            : Sampler.Open(ns, "eth0");
        var engine = new RunRecorder(sampler, clock, identity, TimeProvider.System, ownsSampler: true);
        string store = Directory.CreateTempSubdirectory("ms-agent-kernel-").FullName;
        WebApplication? app = null;
        try
        {
            app = AgentApp.Build(
            [
                "--urls=http://127.0.0.1:0", "--Security:Insecure=true", "--Agent:MetricsListen=http://127.0.0.1:0", "--Agent:Interfaces:0=eth0",
                $"--Agent:Host={host}", $"--Agent:Rack={rack}", "--Agent:Schedule:Enabled=false", $"--Agent:RunStore:Directory={store}",
                "--Logging:LogLevel:Default=Warning", .. settings,
            ], b =>
            {
                b.Services.AddSingleton(clock);
                b.Services.AddSingleton(identity);
                b.Services.AddSingleton<IRunEngine>(engine);
                b.Logging.ClearProviders();
            });
            await app.StartAsync();
            return new InProcessAgent(app, engine, store);
        }
        catch
        {
            if (app is not null)
            {
                await app.DisposeAsync();
            }

            engine.Dispose();
            Directory.Delete(store, recursive: true);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _engine.Dispose();
        Directory.Delete(_store, recursive: true);
    }
}
