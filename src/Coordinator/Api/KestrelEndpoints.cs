using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Millisampler.ServiceDefaults;
using Millisampler.ServiceDefaults.Security;

namespace Millisampler.Coordinator.Api;

/// <summary>
/// The two listening endpoints: gRPC on HTTP/2 only (h2c needs prior knowledge, so the port cannot also offer
/// HTTP/1.1), JSON on HTTP/1.1. Both serve every route; a route on the wrong protocol simply fails.
/// After start, <see cref="GrpcEndPoint"/> and <see cref="HttpEndPoint"/> hold the bound addresses (port 0 resolved).
/// In secure mode both are TLS; a client certificate is asked for (agents and engineers with certificates present one)
/// but not required, so an engineer may bring a bearer token instead; a presented certificate must chain to the CA.
/// </summary>
internal sealed class KestrelEndpoints(IOptions<EndpointOptions> options, IOptions<SecurityOptions> security, IServiceProvider services)
    : IConfigureOptions<KestrelServerOptions>
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

        bool insecure = security.Value.Insecure;
        TlsCertificates? certificates = insecure ? null : services.GetRequiredService<TlsCertificates>();
        _grpc = Listen(kestrel, o.EffectiveGrpcUrl(insecure), HttpProtocols.Http2, certificates);
        _http = Listen(kestrel, o.EffectiveHttpUrl(insecure), HttpProtocols.Http1, certificates);
    }

    private static ListenOptions Listen(KestrelServerOptions kestrel, string url, HttpProtocols protocols, TlsCertificates? certificates)
    {
        BindingAddress address = BindingAddress.Parse(url);
        ListenOptions? bound = null;
        void Set(ListenOptions l)
        {
            l.Protocols = protocols;
            if (certificates is not null)
            {
                l.UseMutualTls(certificates, requireClientCertificate: false);
            }

            bound = l;
        }

        KestrelListen.Bind(kestrel, address, Set);

        return bound!;
    }
}
