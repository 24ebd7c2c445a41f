using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Millisampler.Agent.Service;

namespace Millisampler.Agent;

/// <summary>
/// The agent's one ActivitySource and one Meter, and the instruments on it. Names follow OpenTelemetry; the
/// Prometheus exporter adds the unit (<c>_seconds</c>, <c>_bytes</c>) and <c>_total</c> to counters. Label values
/// are lower_snake_case and bounded (no run ids). Gauges read the running agent through <see cref="AgentMetrics"/>.
/// </summary>
internal static class Observability
{
    /// <summary>Name of the ActivitySource and the Meter.</summary>
    public const string Name = "Millisampler.Agent";

    public static readonly ActivitySource ActivitySource = new(Name);

    public static readonly Meter Meter = new(Name);

    /// <summary>The agents running in this process (one, except in tests); the observable instruments read each.</summary>
    private static readonly ConcurrentDictionary<AgentMetrics, byte> Sources = new();

    /// <summary>Runs that ended (stored or not), tagged with origin and outcome.</summary>
    public static readonly Counter<long> RunsEnded = Meter.CreateCounter<long>(
        "millisampler.agent.runs.ended", "{run}", "Runs that ended, by origin and outcome (complete, cut_short, failed...).");

    /// <summary>ScheduleRun calls refused, tagged with the reason.</summary>
    public static readonly Counter<long> ScheduleRejected = Meter.CreateCounter<long>(
        "millisampler.agent.schedule.rejected", "{request}", "ScheduleRun requests refused, by reason.");

    /// <summary>Time from receiving ScheduleRun to the kernel being armed, for runs armed at once, seconds.</summary>
    public static readonly Histogram<double> ArmDelay = Meter.CreateHistogram<double>(
        "millisampler.agent.arm.delay", "s", "Time from ScheduleRun received to the kernel armed (runs armed at once).");

    /// <summary>Time to read a run's bins out of the kernel maps and clear them, seconds.</summary>
    public static readonly Histogram<double> ReadoutDuration = Meter.CreateHistogram<double>(
        "millisampler.agent.run.readout.duration", "s", "Time to read one run's bins from the kernel maps and clear them.");

    /// <summary>Local runs of the continuous schedule that a coordinator run skipped or cut short.</summary>
    public static readonly Counter<long> LocalRunsPreempted = Meter.CreateCounter<long>(
        "millisampler.agent.schedule.preempted", "{run}", "Local runs skipped or cut short by a coordinator run.");

    /// <summary>Failed Register and Heartbeat calls.</summary>
    public static readonly Counter<long> CoordinatorCallFailures = Meter.CreateCounter<long>(
        "millisampler.agent.registration.failures", "{call}", "Register and Heartbeat calls that failed.");

    static Observability()
    {
        Meter.CreateObservableGauge("millisampler.agent.program.attached", () => Read(s => s.Hooks()),
            description: "1 when the sampler program sits on the hook (interface, direction, attach_mode), 0 when it was removed.");
        Meter.CreateObservableGauge("millisampler.agent.clock.synchronized", () => Read(s => s.ClockSynchronized()),
            description: "1 when the kernel says the clock is synchronized, else 0.");
        Meter.CreateObservableGauge("millisampler.agent.clock.max_error", () => Read(s => s.ClockMaxError()), "s",
            "Maximum clock error the kernel states (adjtimex maxerror; 0 with a shared host clock).");
        Meter.CreateObservableGauge("millisampler.agent.clock.estimated_error", () => Read(s => s.ClockEstimatedError()), "s",
            "Estimated clock error the kernel states (adjtimex esterror).");
        Meter.CreateObservableGauge("millisampler.agent.store.size", () => Read(s => s.StoreBytes()), "By",
            "Bytes of run files in the local run store.");
        Meter.CreateObservableGauge("millisampler.agent.store.runs", () => Read(s => s.StoreRuns()), "{run}",
            "Runs in the local run store.");
        Meter.CreateObservableGauge("millisampler.agent.store.pinned_runs", () => Read(s => s.StorePins()), "{run}",
            "Runs pinned in the local run store (kept until a coordinator fetched them).");
        Meter.CreateObservableCounter("millisampler.agent.kernel.packets_armed_early", () => Read(s => s.Kernel(d => d.ArmedEarly)), "{packet}",
            "Packets the kernel program saw while armed but before bin 0 (since load).");
        Meter.CreateObservableCounter("millisampler.agent.kernel.packets_armed_late", () => Read(s => s.Kernel(d => d.ArmedLate)), "{packet}",
            "Packets the kernel program saw while still armed after the last bin (since load).");
        Meter.CreateObservableCounter("millisampler.agent.kernel.parse_failures", () => Read(s => s.Kernel(d => d.NotParsed)), "{packet}",
            "Packets the kernel program could not parse (since load).");
        Meter.CreateObservableCounter("millisampler.agent.kernel.flow_insert_failures", () => Read(s => s.Kernel(d => d.FlowInsertFailures)), "{flow}",
            "Flows the kernel flow table could not take (since load).");
    }

    /// <summary>Makes <paramref name="source"/> visible to the observable instruments until <see cref="Unregister"/>.</summary>
    public static void Register(AgentMetrics source) => Sources.TryAdd(source, 0);

    public static void Unregister(AgentMetrics source) => Sources.TryRemove(source, out _);

    private static IEnumerable<Measurement<T>> Read<T>(Func<AgentMetrics, IEnumerable<Measurement<T>>> read) where T : struct
    {
        var all = new List<Measurement<T>>();
        foreach (var source in Sources.Keys)
        {
            try
            {
                all.AddRange(read(source));
            }
            catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException or IOException)
            {
                // An agent shutting down has nothing left to report.
            }
        }

        return all;
    }
}
