using System.Net;
using Microsoft.AspNetCore.Builder;
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
/// An optional third endpoint (<see cref="EndpointOptions.MetricsUrl"/>) is plain HTTP/1.1 and serves only /metrics,
/// /healthz and /readyz (<see cref="UseMetricsPortLimits"/>).
/// </summary>
internal sealed class KestrelEndpoints(IOptions<EndpointOptions> options, IOptions<SecurityOptions> security, IServiceProvider services)
    : IConfigureOptions<KestrelServerOptions>
{
    private ListenOptions? _grpc;
    private ListenOptions? _http;
    private ListenOptions? _metrics;

    /// <summary>Bound gRPC endpoint; null before the server starts.</summary>
    public IPEndPoint? GrpcEndPoint => _grpc?.IPEndPoint;

    /// <summary>Bound JSON endpoint; null before the server starts.</summary>
    public IPEndPoint? HttpEndPoint => _http?.IPEndPoint;

    /// <summary>Bound plain metrics endpoint; null before the server starts or when none is configured.</summary>
    public IPEndPoint? MetricsEndPoint => _metrics?.IPEndPoint;

    /// <summary>Answers 404 on the metrics port for anything but /metrics, /healthz and /readyz: the API never goes cleartext.</summary>
    public static void UseMetricsPortLimits(WebApplication app)
    {
        KestrelEndpoints endpoints = app.Services.GetRequiredService<KestrelEndpoints>();
        app.Use((context, next) =>
        {
            if (endpoints.MetricsEndPoint is { } metrics && context.Connection.LocalPort == metrics.Port
                && !(context.Request.Path.StartsWithSegments(ServiceDefaultsExtensions.MetricsPath)
                    || context.Request.Path.StartsWithSegments(ServiceDefaultsExtensions.HealthPath)
                    || context.Request.Path.StartsWithSegments(ServiceDefaultsExtensions.ReadyPath)))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            }

            return next(context);
        });
    }

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
        if (!string.IsNullOrWhiteSpace(o.MetricsUrl))
        {
            _metrics = Listen(kestrel, o.MetricsUrl, HttpProtocols.Http1, certificates: null);
        }
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
