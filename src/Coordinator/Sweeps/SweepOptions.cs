using System.ComponentModel.DataAnnotations;

namespace Millisampler.Coordinator.Sweeps;

/// <summary>How this coordinator runs sweeps. Section <c>Coordinator:Sweeps</c>; the sweeps themselves are data (API, CLI).</summary>
public sealed class SweepOptions
{
    /// <summary>Configuration section.</summary>
    public const string SectionName = "Coordinator:Sweeps";

    /// <summary>Run sweeps on this coordinator. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>How often the scheduler looks for due sweep captures. Default 1 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00", ParseLimitsInInvariantCulture = true)]
    public TimeSpan TickInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a coordinator's lease on a (sweep, rack) lasts without renewal; another coordinator takes the rack over
    /// this long after one crashes (at once after a clean stop). Default 2 min; far above the coordinators' clock skew.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ParseLimitsInInvariantCulture = true)]
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromMinutes(2);
}
