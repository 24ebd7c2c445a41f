using System.ComponentModel.DataAnnotations;

namespace Millisampler.Coordinator.Membership;

/// <summary>Agent membership: heartbeats, health, round-trip probes. Section <c>Coordinator:Membership</c>.</summary>
public sealed class MembershipOptions
{
    /// <summary>Configuration section.</summary>
    public const string SectionName = "Coordinator:Membership";

    /// <summary>Name the coordinator gives itself in RegisterResponse and as the requester of runs; empty = machine name.</summary>
    public string CoordinatorId { get; set; } = "";

    /// <summary>How often agents heartbeat (told to them at registration). Default 5 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00", ParseLimitsInInvariantCulture = true)]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A host is "stale" once this many heartbeat intervals pass without one. Default 3.</summary>
    [Range(1, 1000)]
    public int StaleAfterMissedHeartbeats { get; set; } = 3;

    /// <summary>A host stale for this long is dropped from its rack; 0 = never. Default 10 min.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "30.00:00:00", ParseLimitsInInvariantCulture = true)]
    public TimeSpan ForgetStaleHostAfter { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Period of the GetInfo probe that measures each agent's round trip and limits; 0 = only at registration. Default 30 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00", ParseLimitsInInvariantCulture = true)]
    public TimeSpan RttProbeInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Deadline of one GetInfo probe. Default 2 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00", ParseLimitsInInvariantCulture = true)]
    public TimeSpan RttProbeTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Weight of the newest sample in each agent's round-trip EWMA, (0, 1]. Default 0.25.</summary>
    [Range(0.01, 1.0)]
    public double RttSmoothingFactor { get; set; } = 0.25;

    /// <summary><see cref="CoordinatorId"/>, or the machine name when it is empty.</summary>
    public string EffectiveCoordinatorId => string.IsNullOrWhiteSpace(CoordinatorId) ? Environment.MachineName : CoordinatorId;
}
