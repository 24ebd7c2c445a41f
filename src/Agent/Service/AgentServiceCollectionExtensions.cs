using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Millisampler.Agent.Bpf;
using Millisampler.Agent.Clock;
using Millisampler.Agent.Registration;
using Millisampler.Agent.Sampling;
using Millisampler.Agent.Schedule;
using Millisampler.Agent.Storage;
using Millisampler.Agent.Triggers;
using Millisampler.ServiceDefaults.Grpc;

namespace Millisampler.Agent.Service;

/// <summary>Registers the agent.</summary>
public static class AgentServiceCollectionExtensions
{
    /// <summary>Section of the run store's settings (<see cref="RunStoreOptions"/>).</summary>
    public const string StoreSectionName = AgentOptions.SectionName + ":" + RunStoreOptions.SectionName;

    /// <summary>
    /// Adds the agent: <see cref="AgentOptions"/> bound from <c>Agent</c> and validated at start, the run store
    /// (<c>Agent:RunStore</c>), the kernel engine, the run coordinator, the continuous schedule, registration with
    /// the coordinator, and gRPC. Services registered before (a <see cref="TimeProvider"/>, <see cref="HostClock"/>,
    /// <see cref="HostIdentity"/> or <see cref="IRunEngine"/>) are kept: tests and benchmarks replace them.
    /// </summary>
    public static IServiceCollection AddAgent(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<AgentOptions>()
            .Bind(configuration.GetSection(AgentOptions.SectionName))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<AgentOptions>, AgentOptionsValidator>();
        services.AddRunStore(configuration.GetSection(StoreSectionName));

        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(sp => new HostClock(sp.GetRequiredService<IOptions<AgentOptions>>().Value.ClockErrorSource));
        services.TryAddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<AgentOptions>>().Value;
            return new HostIdentity(o.Host, o.Rack, o.Interfaces.Select(i => InterfaceInventory.Describe(i, o.LinkSpeedBitsPerSecond)).ToList());
        });
        services.TryAddSingleton<IRunEngine>(sp =>
        {
            var o = sp.GetRequiredService<IOptions<AgentOptions>>().Value;
            var samplerOptions = new KernelSamplerOptions
            {
                Interfaces = o.Interfaces,
                AttachMode = o.AttachMode,
                Load = new SamplerLoadOptions { MaxBins = o.MaxBins, Lookback = o.Lookback.ToRing() },
                CrossRegionRttThresholdUs = o.CrossRegionRttThresholdUs,
                RegionPrefixes = o.RegionPrefixes.Select(RegionPrefix.Parse).ToList(),
            };
            return RunRecorder.Open(samplerOptions, sp.GetRequiredService<HostClock>(), sp.GetRequiredService<HostIdentity>(), sp.GetRequiredService<TimeProvider>());
        });
        services.TryAddSingleton<AgentAddress>();

        // Registered in this order, so stopped in the reverse: registration, schedule (its local run stored), then
        // the coordinator runs; the container disposes the engine (detaching the programs) after all of them.
        services.TryAddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<AgentOptions>>().Value;
            var limits = new RunLimits(o.MinBinWidthNs, o.MaxBinWidthNs, o.MaxBins, o.MaxLeadNs, o.MinArmMarginNs, o.ArmLeadNs, o.MaxRunDurationNs);
            return new RunArbiter(sp.GetRequiredService<IRunEngine>(), sp.GetRequiredService<HostClock>(), sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<HostIdentity>(), sp.GetRequiredService<RunStore>(), limits, o.RequireSynchronizedClock,
                sp.GetRequiredService<ILogger<RunArbiter>>(), sp.GetService<IHostApplicationLifetime>());
        });
        services.AddHostedService(sp => sp.GetRequiredService<RunArbiter>());
        services.TryAddSingleton(sp => new ContinuousSchedule(sp.GetRequiredService<RunArbiter>(), sp.GetRequiredService<HostClock>(),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<IOptions<AgentOptions>>().Value.Schedule, sp.GetRequiredService<ILogger<ContinuousSchedule>>(),
            sp.GetService<Random>()));
        services.AddHostedService(sp => sp.GetRequiredService<ContinuousSchedule>());
        services.TryAddSingleton<CoordinatorRegistration>();
        services.AddHostedService(sp => sp.GetRequiredService<CoordinatorRegistration>());
        services.TryAddSingleton<ITriggerSink>(sp => sp.GetRequiredService<CoordinatorRegistration>());
        services.TryAddSingleton(sp => new TriggerWatcher(sp.GetRequiredService<IRunEngine>(), sp.GetRequiredService<HostClock>(),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<HostIdentity>(), sp.GetRequiredService<IOptions<AgentOptions>>().Value.Triggers,
            sp.GetRequiredService<ITriggerSink>(), sp.GetRequiredService<ILogger<TriggerWatcher>>()));
        services.AddHostedService(sp => sp.GetRequiredService<TriggerWatcher>());

        services.AddSingleton<AgentMetrics>();
        services.AddHostedService(sp => sp.GetRequiredService<AgentMetrics>());
        services.AddAgentHealthChecks();

        services.AddSingleton<IConfigureOptions<HostOptions>, ShutdownTimeoutSetup>();
        services.AddGuardedGrpc();
        return services;
    }

    /// <summary>Maps the AgentService gRPC endpoint.</summary>
    public static IEndpointRouteBuilder MapAgent(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGrpcService<AgentGrpcService>();
        return endpoints;
    }

    /// <summary>Gives shutdown the configured time to cut the armed run short, store it and detach.</summary>
    private sealed class ShutdownTimeoutSetup(IConfiguration configuration) : IConfigureOptions<HostOptions>
    {
        public void Configure(HostOptions options)
        {
            // Read from configuration directly: options validation runs later, inside StartAsync.
            var value = configuration.GetSection(AgentOptions.SectionName).GetValue<TimeSpan?>(nameof(AgentOptions.ShutdownTimeout));
            options.ShutdownTimeout = value is { } t && t > TimeSpan.Zero ? t : new AgentOptions().ShutdownTimeout;
        }
    }
}
