using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Millisampler.Agent;

/// <summary>The agent's one ActivitySource and one Meter, and the instruments on it.</summary>
internal static class Observability
{
    /// <summary>Name of the ActivitySource and the Meter.</summary>
    public const string Name = "Millisampler.Agent";

    public static readonly ActivitySource ActivitySource = new(Name);

    public static readonly Meter Meter = new(Name);

    /// <summary>Runs that ended (stored or not), tagged with origin and status.</summary>
    public static readonly Counter<long> RunsEnded = Meter.CreateCounter<long>(
        "millisampler.agent.runs.ended", "{run}", "Runs that ended, by origin and status.");

    /// <summary>ScheduleRun calls refused, tagged with the gRPC status.</summary>
    public static readonly Counter<long> ScheduleRejected = Meter.CreateCounter<long>(
        "millisampler.agent.schedule.rejected", "{request}", "ScheduleRun requests refused, by status code.");

    /// <summary>Time from receiving ScheduleRun to the kernel being armed, for runs armed at once, seconds.</summary>
    public static readonly Histogram<double> ArmDelay = Meter.CreateHistogram<double>(
        "millisampler.agent.arm.delay", "s", "Time from ScheduleRun received to the kernel armed (runs armed at once).");

    /// <summary>Local runs of the continuous schedule that a coordinator run skipped or cut short.</summary>
    public static readonly Counter<long> LocalRunsPreempted = Meter.CreateCounter<long>(
        "millisampler.agent.schedule.preempted", "{run}", "Local runs skipped or cut short by a coordinator run.");

    /// <summary>Failed Register and Heartbeat calls.</summary>
    public static readonly Counter<long> CoordinatorCallFailures = Meter.CreateCounter<long>(
        "millisampler.agent.registration.failures", "{call}", "Register and Heartbeat calls that failed.");
}
