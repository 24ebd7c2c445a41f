using System.ComponentModel.DataAnnotations;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Millisampler.Common.Text;
using Millisampler.Common.Time;
using Millisampler.Coordinator.Captures;

namespace Millisampler.Coordinator.Alerts;

/// <summary>
/// How the Alertmanager webhook (<c>POST /api/alerts/alertmanager</c>) maps alerts to racks and what it captures.
/// Section <c>Coordinator:Alerts</c> (docs/alerts.md).
/// </summary>
public sealed class AlertOptions
{
    /// <summary>Configuration section.</summary>
    public const string SectionName = "Coordinator:Alerts";

    /// <summary>Accept alerts on the webhook. Default true; false answers 404 NOT_FOUND naming this setting.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Alert label naming the rack. Default <c>rack</c>.</summary>
    public string RackLabel { get; set; } = "rack";

    /// <summary>Alert label naming a host, used when the alert has no rack label; the host's rack is the one it registered in. Default <c>host</c>.</summary>
    public string HostLabel { get; set; } = "host";

    /// <summary>
    /// When an alert has neither label, take the host from Prometheus's <c>instance</c> label with its port stripped
    /// (<c>h01:9100</c> → <c>h01</c>, <c>[2001:db8::1]:9100</c> → <c>2001:db8::1</c>). Default false.
    /// </summary>
    public bool HostFromInstance { get; set; }

    /// <summary>Bin width of the forward capture each firing alert starts. Default 1 ms.</summary>
    [Range(typeof(TimeSpan), "00:00:00.0001", "00:00:01", ParseLimitsInInvariantCulture = true)]
    public TimeSpan ForwardBinWidth { get; set; } = TimeSpan.FromMilliseconds(1);

    /// <summary>Bins of the forward capture. Default 2,000 (2 s at 1 ms).</summary>
    [Range(1, (int)CaptureLimits.MaxBins)]
    public int ForwardBins { get; set; } = (int)CaptureLimits.MaxBins;

    /// <summary>Also read the look-back rings around the alert's <c>startsAt</c> while they still hold it. Default true.</summary>
    public bool Lookback { get; set; } = true;

    /// <summary>Look-back window: this long before the alert's <c>startsAt</c> (trimmed to what the rings still hold). Default 1 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00", ParseLimitsInInvariantCulture = true)]
    public TimeSpan LookbackBefore { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Look-back window: this long after the alert's <c>startsAt</c>. Default 1 s.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00", ParseLimitsInInvariantCulture = true)]
    public TimeSpan LookbackAfter { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Most alerts one delivery may carry (Alertmanager's <c>max_alerts</c> should be at most this). Default 100.</summary>
    [Range(1, 10_000)]
    public int MaxAlerts { get; set; } = 100;

    /// <summary>Largest request body, bytes; larger → 413. Default 1 MiB.</summary>
    [Range(1024, 64 * 1024 * 1024)]
    public int MaxBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>The forward capture's bin width, ns.</summary>
    internal long ForwardBinWidthNs => TimeNs.Of(ForwardBinWidth);
}

/// <summary>Checks what data annotations cannot: label names, and that the forward capture is a valid capture.</summary>
internal sealed partial class AlertOptionsValidator(IOptions<CaptureOptions> captures) : IValidateOptions<AlertOptions>
{
    public ValidateOptionsResult Validate(string? name, AlertOptions o)
    {
        var errors = new List<string>();
        foreach ((string key, string value) in new[] { (nameof(o.RackLabel), o.RackLabel), (nameof(o.HostLabel), o.HostLabel) })
        {
            if (!LabelName().IsMatch(value ?? ""))
            {
                errors.Add($"{key}: '{value}' is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)");
            }
        }

        if (string.Equals(o.RackLabel, o.HostLabel, StringComparison.Ordinal))
        {
            errors.Add($"{nameof(o.HostLabel)}: '{o.HostLabel}' is also the rack label; a label names a rack or a host, not both");
        }

        long durationNs = o.ForwardBinWidthNs * o.ForwardBins;
        long maxNs = MaxCaptureDurationNs();
        if (maxNs > 0 && durationNs > maxNs)
        {
            errors.Add($"{nameof(o.ForwardBins)} × {nameof(o.ForwardBinWidth)}: {o.ForwardBins} × {DurationText.Format(o.ForwardBinWidthNs)} = {DurationText.Format(durationNs)} is longer than a capture may last, {DurationText.Format(maxNs)} (Coordinator:Captures:MaxCaptureDuration)");
        }

        if (o.ForwardBinWidthNs % 1_000 != 0)
        {
            errors.Add($"{nameof(o.ForwardBinWidth)}: {o.ForwardBinWidth} is not a whole number of microseconds");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>Coordinator:Captures:MaxCaptureDuration; 0 when that section is invalid (its own errors say why).</summary>
    private long MaxCaptureDurationNs()
    {
        try
        {
            return TimeNs.Of(captures.Value.MaxCaptureDuration);
        }
        catch (OptionsValidationException)
        {
            return 0;
        }
    }

    [GeneratedRegex("^[a-zA-Z_][a-zA-Z0-9_]*$")]
    private static partial Regex LabelName();
}
