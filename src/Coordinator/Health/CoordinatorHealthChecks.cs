using System.Data.Common;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Millisampler.Coordinator.Membership;
using Millisampler.Coordinator.Storage;
using Millisampler.ServiceDefaults;

namespace Millisampler.Coordinator.Health;

/// <summary>The coordinator's health checks: database writable, membership loaded.</summary>
internal static class CoordinatorHealthChecks
{
    /// <summary>Adds the checks to the host's health check registry (both decide readiness).</summary>
    public static IServiceCollection AddCoordinatorHealthChecks(this IServiceCollection services)
    {
        // A singleton, so "since start" means since the coordinator started, not since this check was created.
        services.AddSingleton<MembershipLoadedCheck>();
        services.AddHealthChecks()
            .AddCheck<DatabaseWritableCheck>("database", tags: [ServiceDefaultsExtensions.ReadyTag])
            .AddCheck<MembershipLoadedCheck>("membership", tags: [ServiceDefaultsExtensions.ReadyTag]);
        return services;
    }

    /// <summary>Unhealthy when the capture database does not take a write: results would be lost.</summary>
    internal sealed class DatabaseWritableCheck(ICaptureStore store) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                await store.CheckWritableAsync(cancellationToken).ConfigureAwait(false);
                return HealthCheckResult.Healthy($"{store.Where} writable");
            }
            catch (Exception e) when (e is DbException or IOException or UnauthorizedAccessException or TimeoutException)
            {
                return HealthCheckResult.Unhealthy($"capture database {store.Where} does not take writes: {e.Message}");
            }
        }
    }

    /// <summary>
    /// Membership lives in memory and is rebuilt from the agents' registrations and heartbeats. Until one stale
    /// window (heartbeat interval × missed heartbeats) has passed since start, a rack may look smaller than it is:
    /// Degraded (still ready, so agents can reach the coordinator to register), with how many hosts are back.
    /// </summary>
    internal sealed class MembershipLoadedCheck(MembershipRegistry registry, IOptionsMonitor<MembershipOptions> options, TimeProvider time) : IHealthCheck
    {
        private readonly long _started = time.GetTimestamp();

        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            MembershipOptions o = options.CurrentValue;
            TimeSpan window = o.HeartbeatInterval * o.StaleAfterMissedHeartbeats;
            TimeSpan up = time.GetElapsedTime(_started);
            var hosts = registry.All();
            int healthy = hosts.Count(registry.IsHealthy);
            string counts = $"{hosts.Count} hosts in {hosts.Select(h => h.Rack).Distinct(StringComparer.Ordinal).Count()} racks, {healthy} healthy";
            return Task.FromResult(up >= window
                ? HealthCheckResult.Healthy(counts)
                : HealthCheckResult.Degraded($"membership still loading ({up.TotalSeconds:F0} of {window.TotalSeconds:F0} s since start): {counts}"));
        }
    }
}
