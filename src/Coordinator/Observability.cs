using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Millisampler.Coordinator;

/// <summary>The coordinator's one ActivitySource and one Meter, and the instruments on it.</summary>
internal static class Observability
{
    /// <summary>Name of the ActivitySource and the Meter.</summary>
    public const string Name = "Millisampler.Coordinator";

    public static readonly ActivitySource ActivitySource = new(Name);

    public static readonly Meter Meter = new(Name);

    /// <summary>Captures that ended, tagged with their final state.</summary>
    public static readonly Counter<long> CapturesEnded = Meter.CreateCounter<long>(
        "millisampler.coordinator.captures.ended", "{capture}", "Captures that ended, by final state.");

    /// <summary>Captures rejected because their rack was busy or its queue full.</summary>
    public static readonly Counter<long> CapturesRejectedBusy = Meter.CreateCounter<long>(
        "millisampler.coordinator.captures.rejected_busy", "{capture}", "Captures rejected because the rack was busy.");

    /// <summary>Final outcome of each host of each capture.</summary>
    public static readonly Counter<long> HostOutcomes = Meter.CreateCounter<long>(
        "millisampler.coordinator.host_outcomes", "{host}", "Final outcome of each host of each capture.");

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

    /// <summary>Time from the last bin of a capture to its stored result, seconds.</summary>
    public static readonly Histogram<double> ResultDelay = Meter.CreateHistogram<double>(
        "millisampler.coordinator.result_delay", "s", "Time from the end of a capture's last bin to its stored result.");
}
