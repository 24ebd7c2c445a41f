using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Millisampler.Coordinator;

/// <summary>
/// The coordinator's one ActivitySource and one Meter, and the instruments on it. Names follow OpenTelemetry; the
/// Prometheus exporter adds the unit (<c>_seconds</c>, <c>_bytes</c>; ratios carry <c>_ratio</c> in their name) and <c>_total</c> to counters.
/// Label values are lower_snake_case and bounded (racks, hosts, bin widths; never capture ids). Gauges read the
/// running coordinator through <see cref="CoordinatorMetrics"/>.
/// </summary>
internal static class Observability
{
    /// <summary>Name of the ActivitySource and the Meter.</summary>
    public const string Name = "Millisampler.Coordinator";

    public static readonly ActivitySource ActivitySource = new(Name);

    public static readonly Meter Meter = new(Name);

    private static readonly ConcurrentDictionary<CoordinatorMetrics, byte> Sources = new();

    /// <summary>Captures that ended, tagged with outcome (analysed, failed) and origin (engineer, sweep, ...).</summary>
    public static readonly Counter<long> CapturesEnded = Meter.CreateCounter<long>(
        "millisampler.coordinator.captures.ended", "{capture}", "Captures that ended, by outcome and origin.");

    /// <summary>Time to fetch every armed host's run after a capture's last bin, seconds.</summary>
    public static readonly Histogram<double> CollectionDuration = Meter.CreateHistogram<double>(
        "millisampler.coordinator.collect.duration", "s", "Time from the first GetRun to the last answer of a capture.");

    /// <summary>Captures rejected because their rack was busy or its queue full.</summary>
    public static readonly Counter<long> CapturesRejectedBusy = Meter.CreateCounter<long>(
        "millisampler.coordinator.captures.rejected_busy", "{capture}", "Captures rejected because the rack was busy.");

    /// <summary>Final outcome of each host of each capture.</summary>
    public static readonly Counter<long> HostOutcomes = Meter.CreateCounter<long>(
        "millisampler.coordinator.host_outcomes", "{host}", "Final outcome of each host of each capture.");

    /// <summary>Agent pins the coordinator released because it will not fetch the run, by outcome.</summary>
    public static readonly Counter<long> PinReleases = Meter.CreateCounter<long>(
        "millisampler.coordinator.pin_releases", "{release}", "Agent pins released (ReleaseRun) because the coordinator will not fetch the run, by outcome.");

    /// <summary>Trigger reports and alerts decided by the gate, tagged with decision (fired, joined, refused) and origin (trigger, alert).</summary>
    public static readonly Counter<long> Triggers = Meter.CreateCounter<long>(
        "millisampler.coordinator.triggers", "{trigger}", "Trigger reports and alerts the coordinator decided, by decision and origin.");

    /// <summary>Reception of a trigger minus its instant (the end of the event's last bin), seconds.</summary>
    public static readonly Histogram<double> TriggerDelay = Meter.CreateHistogram<double>(
        "millisampler.coordinator.trigger.delay", "s", "Time from a trigger's instant (end of the event's last bin) to its reception by the coordinator.");

    /// <summary>ScheduleRun attempts beyond the first.</summary>
    public static readonly Counter<long> ScheduleRetries = Meter.CreateCounter<long>(
        "millisampler.coordinator.schedule.retries", "{attempt}", "ScheduleRun attempts beyond the first.");

    /// <summary>Time to arm every host of a capture (ScheduleRun fan-out), seconds.</summary>
    public static readonly Histogram<double> ScheduleFanOutDuration = Meter.CreateHistogram<double>(
        "millisampler.coordinator.schedule.duration", "s", "Time from the first ScheduleRun to the last answer of a capture.");

    /// <summary>Lead time chosen between the request and the start instant, seconds.</summary>
    public static readonly Histogram<double> LeadTime = Meter.CreateHistogram<double>(
        "millisampler.coordinator.lead_time", "s", "Lead time between choosing a start instant and reaching it.");

    /// <summary>Round trips to agents measured by GetInfo and ScheduleRun, seconds.</summary>
    public static readonly Histogram<double> AgentRoundTrip = Meter.CreateHistogram<double>(
        "millisampler.coordinator.agent.rtt", "s", "Round trip of a GetInfo or ScheduleRun call to an agent.");

    /// <summary>Alerts the Alertmanager webhook received, by status (firing, resolved).</summary>
    public static readonly Counter<long> AlertsReceived = Meter.CreateCounter<long>(
        "millisampler.coordinator.alerts.received", "{alert}", "Alerts the Alertmanager webhook received, by status.");

    /// <summary>Captures firing alerts asked for, by window (around, forward) and decision (fired, joined, refused, skipped).</summary>
    public static readonly Counter<long> AlertCaptures = Meter.CreateCounter<long>(
        "millisampler.coordinator.alerts.captures", "{capture}", "Captures firing alerts asked for, by window and the trigger gate's decision.");

    /// <summary>Alertmanager deliveries refused whole, by reason (bad_payload, media_type, too_large, ...).</summary>
    public static readonly Counter<long> AlertDeliveriesRejected = Meter.CreateCounter<long>(
        "millisampler.coordinator.alerts.rejected", "{delivery}", "Alertmanager deliveries refused whole, by reason.");

    static Observability()
    {
        Meter.CreateObservableGauge("millisampler.coordinator.hosts", () => Read(m => m.HostsByHealth()), "{host}",
            "Registered hosts per rack, by health (healthy, stale).");
        Meter.CreateObservableGauge("millisampler.coordinator.host.clock_synchronized", () => Read(m => m.ClockSynchronized()),
            description: "1 when the host's last heartbeat said its clock is synchronized, else 0.");
        Meter.CreateObservableGauge("millisampler.coordinator.host.clock_max_error", () => Read(m => m.ClockMaxError()), "s",
            "Maximum clock error the host stated in its last heartbeat.");
        Meter.CreateObservableGauge("millisampler.coordinator.captures.queued", () => Read(m => m.QueueDepth()), "{capture}",
            "Captures waiting for their rack to be free.");
        Meter.CreateObservableGauge("millisampler.coordinator.rack.bursts", () => Read(m => m.Rack(r => r.Bursts)), "{burst}",
            "Bursts of every host in the rack's latest analysed capture of this bin width.");
        Meter.CreateObservableGauge("millisampler.coordinator.rack.contention.max", () => Read(m => m.Rack(r => r.MaxContention)), "{host}",
            "Most hosts bursting in one bin (max c[b]) in the rack's latest analysed capture of this bin width.");
        Meter.CreateObservableGauge("millisampler.coordinator.rack.contention.mean", () => Read(m => m.Rack(r => r.MeanContention)), "{host}",
            "Mean hosts bursting at once over bins with any burst, in the rack's latest analysed capture of this bin width.");
        Meter.CreateObservableGauge("millisampler.coordinator.rack.contention.contended_bins_ratio", () => Read(m => m.Rack(r => r.ContendedBinShare)),
            description: "Share of bins with at least 2 hosts bursting, in the rack's latest analysed capture of this bin width.");
        Meter.CreateObservableGauge("millisampler.coordinator.rack.burst.ce", () => Read(m => m.Rack(r => (double)r.BurstCeBytes)), "By",
            "ECN-CE-marked ingress bytes inside bursts, in the rack's latest analysed capture of this bin width.");
        Meter.CreateObservableGauge("millisampler.coordinator.rack.burst.retransmitted", () => Read(m => m.Rack(r => (double)r.BurstRetransmitBytes)), "By",
            "Retransmitted ingress bytes inside bursts, in the rack's latest analysed capture of this bin width.");
        Meter.CreateObservableGauge("millisampler.coordinator.rack.ingress.peak_capacity_ratio", () => Read(m => m.Rack(r => r.PeakRackIngressFraction)),
            description: "Largest per-bin rack ingress over the rack's link capacity, in the latest analysed capture of this bin width.");
        Meter.CreateObservableGauge("millisampler.coordinator.rack.sync_events", () => Read(m => m.Rack(r => r.SyncEvents)), "{event}",
            "Synchronized events in the rack's latest analysed capture of this bin width.");
        Meter.CreateObservableGauge("millisampler.coordinator.rack.result_time", () => Read(m => m.Rack(r => r.CompletedAtUnixNs / 1e9)), "s",
            "Unix time the rack's latest analysed capture of this bin width completed (alert when it grows old).");
    }

    /// <summary>Makes <paramref name="source"/> visible to the observable instruments until <see cref="Unregister"/>.</summary>
    public static void Register(CoordinatorMetrics source) => Sources.TryAdd(source, 0);

    public static void Unregister(CoordinatorMetrics source) => Sources.TryRemove(source, out _);

    private static IEnumerable<Measurement<T>> Read<T>(Func<CoordinatorMetrics, IEnumerable<Measurement<T>>> read) where T : struct
    {
        var all = new List<Measurement<T>>();
        foreach (CoordinatorMetrics source in Sources.Keys)
        {
            all.AddRange(read(source));
        }

        return all;
    }

    /// <summary>Time from the last bin of a capture to its stored result, seconds.</summary>
    public static readonly Histogram<double> ResultDelay = Meter.CreateHistogram<double>(
        "millisampler.coordinator.result_delay", "s", "Time from the end of a capture's last bin to its stored result.");
}
