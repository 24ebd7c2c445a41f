using System.Globalization;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;

namespace Millisampler.Cli.Summary;

/// <summary>Short words for the coordinator's enums and times.</summary>
internal static class CaptureText
{
    /// <summary>"analysed" for CAPTURE_STATE_ANALYSED.</summary>
    public static string State(CaptureState s) => s switch
    {
        CaptureState.Queued => "queued",
        CaptureState.Scheduled => "scheduled",
        CaptureState.Running => "running",
        CaptureState.Collecting => "collecting",
        CaptureState.Analysed => "analysed",
        CaptureState.Failed => "failed",
        _ => "unknown",
    };

    /// <summary>"collected" for HOST_OUTCOME_COLLECTED.</summary>
    public static string Outcome(HostOutcomeKind k) => k switch
    {
        HostOutcomeKind.HostOutcomePending => "pending",
        HostOutcomeKind.HostOutcomeScheduled => "scheduled",
        HostOutcomeKind.HostOutcomeCollected => "collected",
        HostOutcomeKind.HostOutcomePartial => "partial",
        HostOutcomeKind.HostOutcomeRefused => "refused",
        HostOutcomeKind.HostOutcomeFailed => "failed",
        _ => "unknown",
    };

    /// <summary>True when the host returned data.</summary>
    public static bool HasData(HostOutcomeKind k) => k is HostOutcomeKind.HostOutcomeCollected or HostOutcomeKind.HostOutcomePartial;

    /// <summary>True when nothing more will change.</summary>
    public static bool IsFinal(CaptureState s) => s is CaptureState.Analysed or CaptureState.Failed;

    /// <summary>Unix ns as "2025-11-22 15:08:01.500"; the caller names the time scale (UTC, TAI).</summary>
    public static string Time(long unixNs) =>
        TimeNs.ToUnix(unixNs).ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture);
}
