using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Millisampler.ServiceDefaults;

/// <summary>Set-up every Millisampler service shares: OpenTelemetry, health checks, the /healthz endpoint.</summary>
public static class ServiceDefaultsExtensions
{
    /// <summary>Prefix of every ActivitySource and Meter the services create; telemetry listens to all of them.</summary>
    public const string TelemetryPrefix = "Millisampler.";

    /// <summary>Path of the health endpoint mapped by <see cref="MapDefaultEndpoints"/>.</summary>
    public const string HealthPath = "/healthz";

    /// <summary>
    /// Adds OpenTelemetry tracing and metrics (ASP.NET Core plus every <c>Millisampler.*</c> source and meter),
    /// a liveness health check and <see cref="TimeProvider.System"/> unless a TimeProvider is already registered.
    /// No exporter is added here: a deployment adds one (OTLP, Prometheus) where it knows the collector.
    /// </summary>
    public static IHostApplicationBuilder AddServiceDefaults(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);

        builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(builder.Environment.ApplicationName))
            .WithTracing(t => t
                .AddAspNetCoreInstrumentation(o => o.Filter = ctx => !ctx.Request.Path.StartsWithSegments(HealthPath))
                .AddSource(TelemetryPrefix + "*"))
            .WithMetrics(m => m
                .AddAspNetCoreInstrumentation()
                .AddMeter(TelemetryPrefix + "*"));

        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), tags: ["live"]);

        builder.Services.TryAddSingleton(TimeProvider.System);
        return builder;
    }

    /// <summary>Maps <c>GET /healthz</c>: 200 "Healthy" when every registered health check passes, 503 otherwise.</summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapHealthChecks(HealthPath, new HealthCheckOptions
        {
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status200OK,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
        });
        return app;
    }
}
