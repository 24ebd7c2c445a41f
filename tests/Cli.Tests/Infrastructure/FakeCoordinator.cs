using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Millisampler.Cli.Tests.Infrastructure;

/// <summary><see cref="FakeCoordinatorService"/> on Kestrel, 127.0.0.1, a free port, cleartext HTTP/2 (h2c).</summary>
public sealed class FakeCoordinator : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeCoordinator(WebApplication app, FakeCoordinatorService service, Uri address)
    {
        _app = app;
        Service = service;
        Address = address;
    }

    /// <summary>The scripted service.</summary>
    public FakeCoordinatorService Service { get; }

    /// <summary>http://127.0.0.1:port, for --coordinator.</summary>
    public Uri Address { get; }

    /// <summary>Starts the server; the port is the one the OS chose.</summary>
    public static async Task<FakeCoordinator> StartAsync(FakeCoordinatorService? service = null)
    {
        service ??= new FakeCoordinatorService();
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(service);
        WebApplication app = builder.Build();
        app.MapGrpcService<FakeCoordinatorService>();
        await app.StartAsync();
        string bound = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        return new FakeCoordinator(app, service, new Uri(bound));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
