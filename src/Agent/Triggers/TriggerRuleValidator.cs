using System.Globalization;

namespace Millisampler.Agent.Triggers;

/// <summary>Every impossible value of the trigger rules, each naming its key and the allowed range.</summary>
public static class TriggerRuleValidator
{
    /// <summary>
    /// Errors for <paramref name="options"/> under <paramref name="section"/> (e.g. <c>Agent:Triggers</c>).
    /// <paramref name="ringBins"/> is the ring's readable depth (bins), or 0 when the recorder is off.
    /// </summary>
    public static List<string> Collect(TriggerOptions options, string section, uint ringBins)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (options.PollInterval < TimeSpan.FromMilliseconds(1) || options.PollInterval > TimeSpan.FromSeconds(1))
        {
            errors.Add($"{section}:{nameof(options.PollInterval)}: {options.PollInterval} must be 1 ms..1 s.");
        }

        if (options.Rules.Count > 0 && ringBins == 0)
        {
            errors.Add($"{section}:{nameof(options.Rules)}: the rules watch the look-back ring, which is off; set Agent:Lookback:Enabled=true or remove the rules.");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < options.Rules.Count; i++)
        {
            var r = options.Rules[i];
            string k = string.Create(CultureInfo.InvariantCulture, $"{section}:{nameof(options.Rules)}:{i}:");
            if (!IsValidName(r.Name))
            {
                errors.Add($"{k}{nameof(r.Name)}: '{r.Name}' must be 1..64 letters, digits, '-', '_' or '.'.");
            }
            else if (!names.Add(r.Name))
            {
                errors.Add($"{k}{nameof(r.Name)}: '{r.Name}' is used by another rule; names identify rules in reports.");
            }

            if (!Enum.IsDefined(r.Kind))
            {
                errors.Add($"{k}{nameof(r.Kind)}: must be IngressCongestion, RetransmitRate or IngressStall.");
            }

            uint maxBins = ringBins == 0 ? 1024 : ringBins;
            if (r.Bins < 1 || r.Bins > maxBins)
            {
                errors.Add($"{k}{nameof(r.Bins)}: {r.Bins} must be 1..{maxBins} (the bins the look-back ring holds).");
            }

            if (r.Kind == TriggerKind.IngressCongestion && !(r.Utilization > 0 && r.Utilization <= 1))
            {
                errors.Add($"{k}{nameof(r.Utilization)}: {r.Utilization.ToString(CultureInfo.InvariantCulture)} must be a fraction of line rate in (0, 1].");
            }

            if (r.Kind == TriggerKind.RetransmitRate && !(r.RetransmitBytesPerSecond > 0 && double.IsFinite(r.RetransmitBytesPerSecond)))
            {
                errors.Add($"{k}{nameof(r.RetransmitBytesPerSecond)}: {r.RetransmitBytesPerSecond.ToString(CultureInfo.InvariantCulture)} must be a positive rate, bytes/s.");
            }

            if (r.Kind == TriggerKind.IngressStall && !(r.BusyBitsPerSecond > 0 && double.IsFinite(r.BusyBitsPerSecond)))
            {
                errors.Add($"{k}{nameof(r.BusyBitsPerSecond)}: {r.BusyBitsPerSecond.ToString(CultureInfo.InvariantCulture)} must be a positive rate, bits/s.");
            }

            if (r.Cooldown < TimeSpan.Zero || r.Cooldown > TimeSpan.FromDays(1))
            {
                errors.Add($"{k}{nameof(r.Cooldown)}: {r.Cooldown} must be 0..1 day.");
            }
        }
        return errors;
    }

    private static bool IsValidName(string? name) =>
        !string.IsNullOrEmpty(name) && name.Length <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
}
