using System.ComponentModel.DataAnnotations;

namespace Millisampler.Agent.Storage;

/// <summary>Where and how long the agent keeps its runs. Bound from the "RunStore" configuration section.</summary>
public sealed class RunStoreOptions
{
    /// <summary>Configuration section the agent binds.</summary>
    public const string SectionName = "RunStore";

    /// <summary>Directory holding the run files; created when missing. Default /var/lib/millisampler/runs.</summary>
    [Required(AllowEmptyStrings = false)]
    public string Directory { get; set; } = "/var/lib/millisampler/runs";

    /// <summary>Runs that started longer ago than this many days are deleted, unless pinned. Default 3.</summary>
    [Range(1, 3650)]
    public int RetentionDays { get; set; } = 3;

    /// <summary>
    /// Upper bound on the bytes of all run files; above it the oldest unpinned runs are deleted.
    /// Default 1 GiB (about 45,000 realistic 2,000-bin runs). At least 1 MiB.
    /// </summary>
    [Range(typeof(long), "1048576", "9223372036854775807")]
    public long MaxTotalBytes { get; set; } = 1L << 30;

    /// <summary>
    /// A pin (a coordinator run not fetched yet) lapses this many minutes after it was set; retention may then
    /// delete the run like any other. Default 60: a coordinator fetches within seconds of a run's end. At most a year (525,600).
    /// </summary>
    [Range(1, 525_600)]
    public int PinExpiryMinutes { get; set; } = 60;

    /// <summary>
    /// Most coordinator runs pinned at once (accepted or stored, not yet fetched, pin not lapsed); a ScheduleRun
    /// beyond it is refused with RESOURCE_EXHAUSTED. Default 100.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxPinnedRuns { get; set; } = 100;

    /// <summary>Seconds between retention passes of the background service. Default 300.</summary>
    [Range(1, 86_400)]
    public int RetentionIntervalSeconds { get; set; } = 300;
}
