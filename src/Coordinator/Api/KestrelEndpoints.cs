using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace Millisampler.Coordinator.Api;

/// <summary>
/// The two listening endpoints: gRPC on HTTP/2 only (h2c needs prior knowledge, so the port cannot also offer
/// HTTP/1.1), JSON on HTTP/1.1. Both serve every route; a route on the wrong protocol simply fails.
/// After start, <see cref="GrpcEndPoint"/> and <see cref="HttpEndPoint"/> hold the bound addresses (port 0 resolved).
/// </summary>
internal sealed class KestrelEndpoints(IOptions<EndpointOptions> options) : IConfigureOptions<KestrelServerOptions>
{
    private ListenOptions? _grpc;
    private ListenOptions? _http;

    /// <summary>Bound gRPC endpoint; null before the server starts.</summary>
    public IPEndPoint? GrpcEndPoint => _grpc?.IPEndPoint;

    /// <summary>Bound JSON endpoint; null before the server starts.</summary>
    public IPEndPoint? HttpEndPoint => _http?.IPEndPoint;

    public void Configure(KestrelServerOptions kestrel)
    {
        EndpointOptions o;
        try
        {
            o = options.Value;
        }
        catch (OptionsValidationException)
        {
            // The startup validator reports it together with every other configuration error.
            return;
        }

        _grpc = Listen(kestrel, o.GrpcUrl, HttpProtocols.Http2);
        _http = Listen(kestrel, o.HttpUrl, HttpProtocols.Http1);
    }

    private static ListenOptions Listen(KestrelServerOptions kestrel, string url, HttpProtocols protocols)
    {
        BindingAddress address = BindingAddress.Parse(url);
        ListenOptions? bound = null;
        void Set(ListenOptions l)
        {
            l.Protocols = protocols;
            bound = l;
        }

        switch (address.Host)
        {
            case "*" or "+":
                kestrel.ListenAnyIP(address.Port, Set);
                break;
            case "localhost":
                kestrel.ListenLocalhost(address.Port, Set);
                break;
            default:
                kestrel.Listen(IPAddress.Parse(address.Host.Trim('[', ']')), address.Port, Set);
                break;
        }

        return bound!;
    }
}
