using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Millisampler.ServiceDefaults;

/// <summary>
/// Set-up every Millisampler service shares: OpenTelemetry (Prometheus scraping endpoint, OTLP export when the
/// standard <c>OTEL_*</c> variables ask for it), health checks (HTTP <c>/healthz</c> and <c>/readyz</c>,
/// <c>grpc.health.v1</c>) gRPC server reflection, and default log levels (<see cref="LogLevelDefaults"/>).
/// </summary>
public static class ServiceDefaultsExtensions
{
    /// <summary>Prefix of every ActivitySource and Meter the services create; telemetry listens to all of them.</summary>
    public const string TelemetryPrefix = "Millisampler.";

    /// <summary>Liveness endpoint: checks tagged <see cref="LiveTag"/>; a failure means "restart me".</summary>
    public const string HealthPath = "/healthz";

    /// <summary>Readiness endpoint: checks tagged <see cref="ReadyTag"/>; a failure means "send me no work".</summary>
    public const string ReadyPath = "/readyz";

    /// <summary>Prometheus scraping endpoint.</summary>
    public const string MetricsPath = "/metrics";

    /// <summary>Tag of health checks that decide liveness (a restart would fix them).</summary>
    public const string LiveTag = "live";

    /// <summary>Tag of health checks that decide readiness.</summary>
    public const string ReadyTag = "ready";

    /// <summary>grpc.health.v1 service name that answers liveness; the empty name answers readiness.</summary>
    public const string GrpcLivenessService = "liveness";

    /// <summary>The standard variables that switch OTLP export on (any of them set).</summary>
    public static readonly IReadOnlyList<string> OtlpEndpointVariables =
    [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
    ];

    /// <summary>
    /// Default log levels, the lowest-priority configuration source, so they hold whatever directory a service is started
    /// from (appsettings.json is read from the working directory) and any other source overrides them: the services'
    /// own events at Information; the framework's per-request lines (ASP.NET Core, Kestrel, gRPC) at Warning.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string?> LogLevelDefaults = new Dictionary<string, string?>
    {
        ["Logging:LogLevel:Default"] = "Information",
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
        ["Logging:LogLevel:Grpc"] = "Warning",
        ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Information",
    };

    /// <summary>
    /// Adds OpenTelemetry tracing and metrics (ASP.NET Core plus every <c>Millisampler.*</c> source and meter) with
    /// the Prometheus exporter, and the OTLP exporter when one of <see cref="OtlpEndpointVariables"/> is set (the
    /// exporter then reads every other <c>OTEL_*</c> setting itself); a liveness check; grpc.health.v1 and gRPC
    /// reflection; <see cref="TimeProvider.System"/> unless a TimeProvider is already registered.
    /// </summary>
    public static IHostApplicationBuilder AddServiceDefaults(this IHostApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);

        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = LogLevelDefaults });
        var otel = builder.Services.AddOpenTelemetry()
            .ConfigureResource(r => r.AddService(builder.Environment.ApplicationName))
            .WithTracing(t => t
                .AddAspNetCoreInstrumentation(o => o.Filter = ctx => !IsInfrastructure(ctx.Request.Path))
                .AddSource(TelemetryPrefix + "*"))
            .WithMetrics(m => m
                .AddAspNetCoreInstrumentation()
                .AddMeter(TelemetryPrefix + "*")
                .AddPrometheusExporter());
        if (OtlpRequested(builder.Configuration))
        {
            otel.UseOtlpExporter();
        }

        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), tags: [LiveTag]);

        builder.Services.AddGrpc();
        builder.Services.AddGrpcHealthChecks(o =>
        {
            o.Services.Clear();
            o.Services.Map("", c => c.Tags.Contains(ReadyTag));
            o.Services.Map(GrpcLivenessService, c => c.Tags.Contains(LiveTag));
        });
        builder.Services.AddGrpcReflection();

        builder.Services.TryAddSingleton(TimeProvider.System);
        return builder;
    }

    /// <summary>True when configuration (environment variables included) sets an OTLP endpoint.</summary>
    public static bool OtlpRequested(IConfiguration configuration) =>
        OtlpEndpointVariables.Any(v => !string.IsNullOrWhiteSpace(configuration[v]));

    /// <summary>
    /// Maps <c>GET /healthz</c> (liveness) and <c>GET /readyz</c> (readiness): 200 when Healthy or Degraded, 503 when
    /// Unhealthy, with a JSON body naming each check; <c>GET /metrics</c> (Prometheus text format);
    /// grpc.health.v1 and gRPC server reflection.
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapHealthChecks(HealthPath, Options(LiveTag));
        app.MapHealthChecks(ReadyPath, Options(ReadyTag));
        app.MapPrometheusScrapingEndpoint(MetricsPath);
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
        return app;
    }

    private static bool IsInfrastructure(PathString path) =>
        path.StartsWithSegments(HealthPath) || path.StartsWithSegments(ReadyPath) || path.StartsWithSegments(MetricsPath)
        || path.StartsWithSegments("/grpc.health.v1.Health");

    private static HealthCheckOptions Options(string tag) => new()
    {
        Predicate = r => r.Tags.Contains(tag),
        ResultStatusCodes =
        {
            [HealthStatus.Healthy] = StatusCodes.Status200OK,
            [HealthStatus.Degraded] = StatusCodes.Status200OK,
            [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
        },
        ResponseWriter = HealthReportWriter.WriteAsync,
    };
}
