using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Millisampler.Coordinator.Triggers;

/// <summary>
/// How the coordinator answers triggers (agents' rules, Alertmanager alerts). Section <c>Coordinator:Triggers</c>;
/// the rules themselves live on the agents (<c>Agent:Triggers</c>).
/// </summary>
public sealed class TriggerOptions
{
    /// <summary>Configuration section.</summary>
    public const string SectionName = "Coordinator:Triggers";

    /// <summary>Capture racks when triggers arrive. Off: every report is stored and REFUSED ("triggers are disabled"). Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// After a fired capture, reports on the same rack within this time join it when their instant lies in its window
    /// (the same event seen by another host) and are refused "cooldown" otherwise. Default 30 s.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00", ParseLimitsInInvariantCulture = true)]
    public TimeSpan Cooldown { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Trigger captures (FIRED) per rack in any sliding hour; further reports are refused "hourly cap". Default 12.</summary>
    [Range(1, 3600)]
    public int HourlyCapPerRack { get; set; } = 12;

    /// <summary>The captured window starts this long before the trigger instant. Default 2 s (the agents' 1 ms ring holds 4 s).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00", ParseLimitsInInvariantCulture = true)]
    public TimeSpan Before { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>The captured window ends this long after the trigger instant. Default 1 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00", ParseLimitsInInvariantCulture = true)]
    public TimeSpan After { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Bin width of the captured window: a width the agents' look-back rings keep. Default 1 ms (the agents' default ring).</summary>
    [Range(typeof(TimeSpan), "00:00:00.000001", "00:00:01", ParseLimitsInInvariantCulture = true)]
    public TimeSpan BinWidth { get; set; } = TimeSpan.FromMilliseconds(1);
}

/// <summary>Rules between fields that data annotations cannot state.</summary>
internal sealed class TriggerOptionsValidator : IValidateOptions<TriggerOptions>
{
    public ValidateOptionsResult Validate(string? name, TriggerOptions o)
    {
        var errors = new List<string>();
        if (o.Before + o.After < o.BinWidth)
        {
            errors.Add($"{TriggerOptions.SectionName}:{nameof(TriggerOptions.Before)} + {nameof(TriggerOptions.After)} ({o.Before} + {o.After}) must span at least one bin ({nameof(TriggerOptions.BinWidth)} {o.BinWidth}).");
        }

        if (o.BinWidth.Ticks > 0 && TimeSpan.FromSeconds(1).Ticks % o.BinWidth.Ticks != 0)
        {
            errors.Add($"{TriggerOptions.SectionName}:{nameof(TriggerOptions.BinWidth)} ({o.BinWidth}) must divide one second, as the agents' ring widths do.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
