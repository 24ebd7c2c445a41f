using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Millisampler.Common.Time;
using Millisampler.Coordinator.Agents;
using Millisampler.Coordinator.Alerts;
using Millisampler.Coordinator.Api;
using Millisampler.Coordinator.Captures;
using Millisampler.Coordinator.Health;
using Millisampler.Coordinator.Membership;
using Millisampler.Coordinator.Security;
using Millisampler.Coordinator.Storage;
using Millisampler.Coordinator.Sweeps;
using Millisampler.Coordinator.Triggers;
using Millisampler.ServiceDefaults.Grpc;
using Millisampler.ServiceDefaults.Security;

namespace Millisampler.Coordinator;

/// <summary>Registers the coordinator: options, membership, captures, storage, gRPC and JSON endpoints.</summary>
public static class CoordinatorServiceCollectionExtensions
{
    /// <summary>
    /// Adds every coordinator service. Options bind from <c>Coordinator:Membership</c>, <c>Coordinator:Captures</c>,
    /// <c>Coordinator:Storage</c>, <c>Coordinator:Endpoints</c>, <c>Coordinator:RateLimits</c>, <c>Coordinator:Sweeps</c>,
    /// <c>Coordinator:Triggers</c> and <c>Coordinator:Alerts</c>, are validated when the host starts, and
    /// unknown keys are errors (a typo must not silently fall back to a default).
    /// A <see cref="TaiClock"/>, <see cref="TimeProvider"/> or <see cref="ITriggerGate"/> registered before this call is kept (tests).
    /// </summary>
    public static IServiceCollection AddCoordinator(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);

        AddOptions<MembershipOptions>(services, configuration, MembershipOptions.SectionName);
        AddOptions<CaptureOptions>(services, configuration, CaptureOptions.SectionName);
        AddOptions<StorageOptions>(services, configuration, StorageOptions.SectionName);
        AddOptions<EndpointOptions>(services, configuration, EndpointOptions.SectionName);
        AddOptions<RateLimitOptions>(services, configuration, RateLimitOptions.SectionName);
        services.AddSingleton<IValidateOptions<CaptureOptions>, CaptureOptionsValidator>();
        services.AddSingleton<IValidateOptions<EndpointOptions>, EndpointOptionsValidator>();
        services.AddSingleton<IValidateOptions<StorageOptions>, StorageOptionsValidator>();

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<TaiClock, SystemTaiClock>();

        services.AddSingleton<AgentClientPool>();
        services.AddSingleton<MembershipRegistry>();
        services.AddHostedService<AgentProber>();

        services.AddSingleton<SqlStore>(sp => sp.GetRequiredService<IOptions<StorageOptions>>().Value.Provider switch
        {
            StorageProvider.Postgres => ActivatorUtilities.CreateInstance<PostgresStore>(sp),
            _ => ActivatorUtilities.CreateInstance<SqliteStore>(sp),
        });
        services.AddSingleton<ICaptureStore>(sp => sp.GetRequiredService<SqlStore>());
        services.AddSingleton<ILeaseStore>(sp => sp.GetRequiredService<SqlStore>());
        services.AddSingleton<IPinReleaseStore>(sp => sp.GetRequiredService<SqlStore>());
        services.AddHostedService<PinReleaser>();
        services.AddSingleton<RackLanes>();
        services.AddSingleton<RunScheduler>();
        services.AddSingleton<RunCollector>();
        services.AddSingleton<CaptureRunner>();
        services.AddSingleton<CaptureService>();
        services.AddSingleton<CaptureRateLimiter>();
        services.AddHostedService(sp => sp.GetRequiredService<CaptureService>());
        AddOptions<SweepOptions>(services, configuration, SweepOptions.SectionName);
        services.AddSingleton<ISweepStore>(sp => sp.GetRequiredService<SqlStore>());
        services.AddSingleton<SweepReporter>();
        services.AddSingleton<SweepService>();
        services.AddSingleton<ISweepCaptures, CoordinatorSweepCaptures>();
        services.AddSingleton<SweepRunner>();
        services.AddHostedService(sp => sp.GetRequiredService<SweepRunner>());

        AddOptions<TriggerOptions>(services, configuration, TriggerOptions.SectionName);
        services.AddSingleton<IValidateOptions<TriggerOptions>, TriggerOptionsValidator>();
        services.AddSingleton<ITriggerStore>(sp => sp.GetRequiredService<SqlStore>());
        services.AddSingleton<ITriggerCaptures, CoordinatorTriggerCaptures>();
        services.AddSingleton<TriggerGate>();
        services.TryAddSingleton<ITriggerGate>(sp => sp.GetRequiredService<TriggerGate>());
        AddOptions<AlertOptions>(services, configuration, AlertOptions.SectionName);
        services.AddSingleton<IValidateOptions<AlertOptions>, AlertOptionsValidator>();
        services.AddSingleton<AlertReceiver>();

        services.AddSingleton<RackResults>();
        services.AddSingleton<CoordinatorMetrics>();
        services.AddHostedService(sp => sp.GetRequiredService<CoordinatorMetrics>());
        services.AddCoordinatorHealthChecks();

        services.AddTransportSecurity(configuration);
        services.AddCoordinatorAuthentication(configuration);
        services.AddGuardedGrpc();
        services.AddSingleton<KestrelEndpoints>();
        services.AddSingleton<IConfigureOptions<KestrelServerOptions>>(sp => sp.GetRequiredService<KestrelEndpoints>());
        return services;
    }

    /// <summary>Maps the gRPC services (CoordinatorService, MembershipService) and the JSON API under /api.</summary>
    public static WebApplication MapCoordinator(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapGrpcService<CoordinatorGrpcService>();
        app.MapGrpcService<MembershipGrpcService>();
        app.MapGrpcService<SweepGrpcService>();
        app.MapCoordinatorJsonApi();
        app.MapSweepJsonApi();
        app.MapAlertJsonApi();
        return app;
    }

    private static void AddOptions<T>(IServiceCollection services, IConfiguration configuration, string section)
        where T : class =>
        services.AddOptions<T>()
            .Bind(configuration.GetSection(section), o => o.ErrorOnUnknownConfiguration = true)
            .ValidateDataAnnotations()
            .ValidateOnStart();
}
