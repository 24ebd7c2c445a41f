namespace Millisampler.Agent.Triggers;

/// <summary>What a trigger rule watches (docs/agent.md, "Trigger rules").</summary>
public enum TriggerKind
{
    /// <summary>Ingress at or above <see cref="TriggerRuleOptions.Utilization"/> of line rate for <see cref="TriggerRuleOptions.Bins"/> consecutive bins, with CE-marked or retransmitted bytes in them.</summary>
    IngressCongestion = 1,

    /// <summary>Retransmitted bytes (both directions) above <see cref="TriggerRuleOptions.RetransmitBytesPerSecond"/> over <see cref="TriggerRuleOptions.Bins"/> bins.</summary>
    RetransmitRate = 2,

    /// <summary>Zero ingress for at least <see cref="TriggerRuleOptions.Bins"/> bins between two busy bins, with egress in every one of them.</summary>
    IngressStall = 3,
}

/// <summary>The agent's trigger rules on its look-back ring (section <c>Agent:Triggers</c>).</summary>
public sealed class TriggerOptions
{
    /// <summary>How often the watcher reads the ring's newest bins. 1 ms..1 s, default 10 ms: a trigger reaches the coordinator within ~15 ms of its last bin.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>The rules (<c>Agent:Triggers:Rules:0:Name=...</c>); none by default, so nothing is reported until configured.</summary>
    public List<TriggerRuleOptions> Rules { get; set; } = [];
}

/// <summary>One named rule. Values a kind does not use are ignored.</summary>
public sealed class TriggerRuleOptions
{
    /// <summary>Name reported to the coordinator and stored with the capture: letters, digits, '-', '_', '.', 1..64 characters. Required.</summary>
    public string Name { get; set; } = "";

    /// <summary>What the rule watches. Required.</summary>
    public TriggerKind Kind { get; set; }

    /// <summary>n: consecutive bins (IngressCongestion), bins of the rate window (RetransmitRate), least zero-ingress bins (IngressStall). Default 3.</summary>
    public uint Bins { get; set; } = 3;

    /// <summary>θ for IngressCongestion: fraction of the interfaces' summed link speed, (0, 1]. Default 0.9.</summary>
    public double Utilization { get; set; } = 0.9;

    /// <summary>RetransmitRate: fire above this many retransmitted bytes per second over the window. Default 1,000,000.</summary>
    public double RetransmitBytesPerSecond { get; set; } = 1_000_000;

    /// <summary>IngressStall: a bin with at least this ingress (bits/s over the bin) is busy. Default 100,000,000 (100 Mbit/s).</summary>
    public double BusyBitsPerSecond { get; set; } = 100_000_000;

    /// <summary>After firing, the rule stays quiet this long (on the bin grid), 0..1 day. Default 10 s.</summary>
    public TimeSpan Cooldown { get; set; } = TimeSpan.FromSeconds(10);
}
