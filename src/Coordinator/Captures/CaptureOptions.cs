using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Millisampler.Coordinator.Captures;

/// <summary>Hard limits of a capture request, independent of configuration.</summary>
public static class CaptureLimits
{
    /// <summary>Narrowest bin, 100 µs: below it the hosts' clock error (tens of µs with chrony) exceeds half a bin.</summary>
    public const long MinBinWidthNs = 100_000;

    /// <summary>Widest bin, 1 s: wider bins no longer show bursts at all.</summary>
    public const long MaxBinWidthNs = 1_000_000_000;

    /// <summary>Most bins per capture: Millisampler's 2,000 samples per run.</summary>
    public const uint MaxBins = 2_000;

    /// <summary>Longest explicit lead time, 60 s.</summary>
    public const long MaxLeadTimeNs = 60_000_000_000;
}

/// <summary>How captures are scheduled, collected and analysed. Section <c>Coordinator:Captures</c>.</summary>
public sealed class CaptureOptions
{
    /// <summary>Configuration section.</summary>
    public const string SectionName = "Coordinator:Captures";

    /// <summary>Shortest derived lead time between choosing the start instant and reaching it. Default 200 ms.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:01:00", ParseLimitsInInvariantCulture = true)]
    public TimeSpan LeadTimeFloor { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Longest derived lead time. Default 10 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:01:00", ParseLimitsInInvariantCulture = true)]
    public TimeSpan LeadTimeCeiling { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Derived lead time = this × the slowest selected agent's round-trip EWMA (then floor and ceiling). Default 10.</summary>
    [Range(1.0, 1000.0)]
    public double LeadTimeRttFactor { get; set; } = 10;

    /// <summary>Round trip assumed for an agent not measured yet. Default 20 ms.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:10", ParseLimitsInInvariantCulture = true)]
    public TimeSpan AssumedRoundTrip { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>ScheduleRun attempts (and their deadlines) end this long before the start instant. Default 10 ms.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:10", ParseLimitsInInvariantCulture = true)]
    public TimeSpan ScheduleMargin { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Deadline of one ScheduleRun attempt (never past start − margin). Default 1 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:01:00", ParseLimitsInInvariantCulture = true)]
    public TimeSpan ScheduleAttemptTimeout { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>First retry delay of ScheduleRun and GetRun; doubles with jitter. Default 20 ms.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:00:10", ParseLimitsInInvariantCulture = true)]
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>Longest retry delay. Default 500 ms.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:01:00", ParseLimitsInInvariantCulture = true)]
    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Wait after the end of the last bin before fetching runs. Default 200 ms.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00", ParseLimitsInInvariantCulture = true)]
    public TimeSpan CollectGrace { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// A window that reaches into the future is read this long after its end: covers the agents' clock offsets and
    /// the kernel finishing the last bin. Default 100 ms.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:00:10", ParseLimitsInInvariantCulture = true)]
    public TimeSpan WindowReadMargin { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Deadline of fetching one host's run (GetRun, retries included). Default 10 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00", ParseLimitsInInvariantCulture = true)]
    public TimeSpan CollectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Longest capture (bins × bin width) a request may ask for; a longer one is refused with INVALID_ARGUMENT
    /// naming this setting. Default 60 s (2,000 × 10 ms is 20 s). At most 1 h.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00", ParseLimitsInInvariantCulture = true)]
    public TimeSpan MaxCaptureDuration { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How often owed pin releases (runs of captures a coordinator stop interrupted, look-back windows already stored,
    /// runs not collected) are sent to the agents with ReleaseRun. Default 5 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00", ParseLimitsInInvariantCulture = true)]
    public TimeSpan PinReleaseInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// An owed pin release is dropped (and logged) when the agent has not taken it this long: by then the agent's
    /// own pin has lapsed (Agent:RunStore:PinExpiryMinutes, default 60). Default 1 h.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00", ParseLimitsInInvariantCulture = true)]
    public TimeSpan PinReleaseGiveUp { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Captures that may wait behind a rack's running capture (wait_if_busy). Default 8.</summary>
    [Range(0, 1000)]
    public int MaxQueuedPerRack { get; set; } = 8;

    /// <summary>Link speed used for a host that reports none (veth), bits/s; 0 = none: such a host is stored but not analysed.</summary>
    [Range(0, 1e13)]
    public double FallbackLinkSpeedBitsPerSecond { get; set; }
}

/// <summary>Rules between fields that data annotations cannot state.</summary>
internal sealed class CaptureOptionsValidator : IValidateOptions<CaptureOptions>
{
    public ValidateOptionsResult Validate(string? name, CaptureOptions o)
    {
        var errors = new List<string>();
        if (o.LeadTimeCeiling < o.LeadTimeFloor)
        {
            errors.Add($"{nameof(CaptureOptions.LeadTimeCeiling)} ({o.LeadTimeCeiling}) must not be below {nameof(CaptureOptions.LeadTimeFloor)} ({o.LeadTimeFloor}).");
        }

        if (o.ScheduleMargin >= o.LeadTimeFloor)
        {
            errors.Add($"{nameof(CaptureOptions.ScheduleMargin)} ({o.ScheduleMargin}) must be below {nameof(CaptureOptions.LeadTimeFloor)} ({o.LeadTimeFloor}), or no ScheduleRun attempt fits before the start instant.");
        }

        if (o.RetryMaxDelay < o.RetryBaseDelay)
        {
            errors.Add($"{nameof(CaptureOptions.RetryMaxDelay)} ({o.RetryMaxDelay}) must not be below {nameof(CaptureOptions.RetryBaseDelay)} ({o.RetryBaseDelay}).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
