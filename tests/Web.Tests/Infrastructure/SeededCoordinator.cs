using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Millisampler.Coordinator;
using Millisampler.Coordinator.Api;
using Millisampler.Coordinator.Storage;

namespace Millisampler.Web.Tests.Infrastructure;

/// <summary>
/// The real coordinator (<see cref="CoordinatorApp.Build"/>, as the executable) on loopback port 0 in insecure mode
/// (a browser has no client certificate; the viewer role itself is tested in Coordinator.Tests), with
/// <see cref="PlantedRack"/> stored as one analysed capture through its own <see cref="ICaptureStore"/>.
/// </summary>
public sealed class SeededCoordinator : IAsyncLifetime
{
    public const string CaptureId = "c-planted-0001";

    private WebApplication? _app;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"ms-web-test-{Guid.NewGuid():N}");

    /// <summary>http://127.0.0.1:port, no trailing slash.</summary>
    public string HttpUrl { get; private set; } = "";

    public HttpClient Http { get; private set; } = new();

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        string[] args =
        [
            "--grpc-url", "http://127.0.0.1:0",
            "--http-url", "http://127.0.0.1:0",
            "--Security:Insecure=true",
            "--db", Path.Combine(_dir, "captures.db"),
            "--Logging:LogLevel:Default=Warning",
            "--Logging:LogLevel:Millisampler=Warning",
        ];
        _app = CoordinatorApp.Build(args);
        await _app.StartAsync();
        HttpUrl = $"http://127.0.0.1:{_app.Services.GetRequiredService<KestrelEndpoints>().HttpEndPoint!.Port}";
        Http = new HttpClient { BaseAddress = new Uri(HttpUrl) };

        ICaptureStore store = _app.Services.GetRequiredService<ICaptureStore>();
        long requested = (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 60_000) * 1_000_000;
        Contracts.V1.Capture capture = PlantedRack.Capture(CaptureId, requested);
        await store.InsertAsync(capture, CancellationToken.None);
        await store.SaveResultAsync(capture, PlantedRack.Runs(), CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
