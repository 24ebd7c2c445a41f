using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Millisampler.Agent.Storage;

/// <summary>Registers the run store.</summary>
public static class RunStoreServiceCollectionExtensions
{
    /// <summary>
    /// Adds <see cref="RunStore"/> (singleton, opened on first use) with <see cref="RunStoreOptions"/>
    /// bound from <paramref name="section"/> and validated at start, and a hosted service that
    /// enforces retention every RetentionIntervalSeconds. Uses a registered <see cref="TimeProvider"/>,
    /// else <see cref="TimeProvider.System"/>.
    /// </summary>
    public static IServiceCollection AddRunStore(this IServiceCollection services, IConfiguration section)
    {
        ArgumentNullException.ThrowIfNull(section);
        services.AddOptions<RunStoreOptions>()
            .Bind(section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<RunStore>();
        services.AddHostedService<RunStoreRetentionService>();
        return services;
    }
}
