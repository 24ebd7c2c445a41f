using Microsoft.Extensions.Diagnostics.HealthChecks;
using Millisampler.Agent.Clock;
using Millisampler.Agent.Sampling;
using Millisampler.Agent.Schedule;
using Millisampler.Agent.Storage;
using Millisampler.ServiceDefaults;

namespace Millisampler.Agent.Service;

/// <summary>The agent's health checks: program attached (liveness and readiness), store writable, clock synchronized.</summary>
internal static class AgentHealthChecks
{
    /// <summary>Adds the checks to the host's health check registry.</summary>
    public static IServiceCollection AddAgentHealthChecks(this IServiceCollection services)
    {
        services.AddHealthChecks()
            .AddCheck<ProgramAttachedCheck>("program", tags: [ServiceDefaultsExtensions.LiveTag, ServiceDefaultsExtensions.ReadyTag])
            .AddCheck<StoreWritableCheck>("store", tags: [ServiceDefaultsExtensions.ReadyTag])
            .AddCheck<ClockSynchronizedCheck>("clock", tags: [ServiceDefaultsExtensions.ReadyTag]);
        return services;
    }

    /// <summary>
    /// Unhealthy when the kernel no longer has the sampler on every hook (an interface went away, another tool
    /// removed the filter or the clsact qdisc): the agent would record zeros. A restart attaches again.
    /// </summary>
    internal sealed class ProgramAttachedCheck(IRunEngine engine) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var hooks = engine.CheckHooks();
            var missing = hooks.Where(h => !h.Attached).ToList();
            return Task.FromResult(missing.Count == 0
                ? HealthCheckResult.Healthy($"attached ({engine.AttachMode}) to {string.Join(", ", hooks.Select(h => $"{h.Interface} {h.Direction}"))}")
                : HealthCheckResult.Unhealthy("sampler not attached: " + string.Join("; ", missing.Select(h => h.Detail))));
        }
    }

    /// <summary>Unhealthy when a file cannot be created in the run store's directory: runs would be lost.</summary>
    internal sealed class StoreWritableCheck(RunStore store) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            string probe = Path.Combine(store.Directory, $".health-{Environment.ProcessId}.tmp");
            try
            {
                await File.WriteAllBytesAsync(probe, [1], cancellationToken).ConfigureAwait(false);
                File.Delete(probe);
                return HealthCheckResult.Healthy($"{store.Directory} writable; {store.Count} runs, {store.TotalBytes} bytes");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return HealthCheckResult.Unhealthy($"run store {store.Directory} is not writable: {e.Message}");
            }
        }
    }

    /// <summary>
    /// Degraded, not Unhealthy, when the clock is not synchronized: local runs still work, and the coordinator
    /// decides whether a run's alignment can be trusted from the error each run states.
    /// </summary>
    internal sealed class ClockSynchronizedCheck(HostClock clock, IRunEngine engine) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var state = clock.ReadState(engine.ClockSource);
            return Task.FromResult(state.Synchronized
                ? HealthCheckResult.Healthy($"synchronized, max error {state.MaxErrorNs / 1e3:F0} µs")
                : HealthCheckResult.Degraded("clock not synchronized (adjtimex reports STA_UNSYNC): rack captures cannot align this host's bins"));
        }
    }
}
