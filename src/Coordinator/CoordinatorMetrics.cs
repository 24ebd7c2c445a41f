using System.Diagnostics.Metrics;
using System.Globalization;
using Millisampler.Coordinator.Captures;
using Millisampler.Coordinator.Membership;

namespace Millisampler.Coordinator;

/// <summary>
/// What the coordinator's gauges read when Prometheus scrapes: membership, rack queues and the latest analysed
/// result of each rack and bin width. Registered with <see cref="Observability"/> while the host runs.
/// </summary>
internal sealed class CoordinatorMetrics(MembershipRegistry registry, RackLanes lanes, RackResults results) : IHostedService
{
    private static readonly string[] Healths = ["healthy", "stale"];

    public Task StartAsync(CancellationToken cancellationToken)
    {
        Observability.Register(this);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Observability.Unregister(this);
        return Task.CompletedTask;
    }

    public IEnumerable<Measurement<int>> HostsByHealth()
    {
        var hosts = registry.All();
        foreach (string rack in hosts.Select(h => h.Rack).Distinct(StringComparer.Ordinal))
        {
            foreach (string health in Healths)
            {
                int n = hosts.Count(h => h.Rack == rack && registry.HealthOf(h) == health);
                yield return new Measurement<int>(n, new("rack", rack), new("health", health));
            }
        }
    }

    public IEnumerable<Measurement<int>> ClockSynchronized() =>
        registry.All().Select(h => new Measurement<int>(h.Clock is { Synchronized: true } ? 1 : 0, new("rack", h.Rack), new("host", h.Host)));

    public IEnumerable<Measurement<double>> ClockMaxError() =>
        registry.All().Where(h => h.Clock is not null).Select(h => new Measurement<double>(h.Clock.MaxErrorNs / 1e9, new("rack", h.Rack), new("host", h.Host)));

    public IEnumerable<Measurement<int>> QueueDepth() =>
        lanes.QueueDepths().Select(q => new Measurement<int>(q.Queued, new KeyValuePair<string, object?>("rack", q.Rack)));

    public IEnumerable<Measurement<T>> Rack<T>(Func<RackResultSummary, T> value) where T : struct =>
        results.All().Select(r => new Measurement<T>(value(r.Summary), new("rack", r.Rack), new("bin_width", BinWidthLabel(r.BinWidthNs))));

    /// <summary>"100us", "1ms", "10ms", "1s": the bin width as the CLI writes it.</summary>
    internal static string BinWidthLabel(long ns) => ns switch
    {
        > 0 when ns % 1_000_000_000 == 0 => (ns / 1_000_000_000).ToString(CultureInfo.InvariantCulture) + "s",
        > 0 when ns % 1_000_000 == 0 => (ns / 1_000_000).ToString(CultureInfo.InvariantCulture) + "ms",
        > 0 when ns % 1_000 == 0 => (ns / 1_000).ToString(CultureInfo.InvariantCulture) + "us",
        _ => ns.ToString(CultureInfo.InvariantCulture) + "ns",
    };
}
