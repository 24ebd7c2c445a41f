using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Millisampler.Agent.Bpf;
using Millisampler.Agent.Triggers;
using Millisampler.Common.Text;
using Millisampler.Common.Time;

namespace Millisampler.Agent.Service;

/// <summary>Checks every agent setting and reports all that are wrong at once, each naming its key and the allowed range.</summary>
internal sealed class AgentOptionsValidator : IValidateOptions<AgentOptions>
{
    private const uint MaxBinsLimit = SamplerLoadOptions.MaxBinsLimit;

    public ValidateOptionsResult Validate(string? name, AgentOptions o)
    {
        var errors = Collect(o);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    internal static List<string> Collect(AgentOptions o)
    {
        var errors = new List<string>();
        const string S = AgentOptions.SectionName + ":";

        if (!string.IsNullOrWhiteSpace(o.Listen))
        {
            CheckListen(S + nameof(o.Listen), o.Listen, errors);
        }

        if (!string.IsNullOrWhiteSpace(o.MetricsListen))
        {
            errors.AddRange(ListenErrors(S + nameof(o.MetricsListen), o.MetricsListen));
        }
        if (o.Interfaces.Count == 0 || o.Interfaces.Any(string.IsNullOrWhiteSpace))
        {
            errors.Add($"{S}{nameof(o.Interfaces)}: name at least one interface to watch (e.g. {S}Interfaces:0=eth0), no empty names.");
        }

        foreach (var dupe in o.Interfaces.GroupBy(i => i).Where(g => g.Count() > 1))
        {
            errors.Add($"{S}{nameof(o.Interfaces)}: '{dupe.Key}' is listed twice; its packets would be counted twice.");
        }

        if (string.IsNullOrWhiteSpace(o.Host))
        {
            errors.Add($"{S}{nameof(o.Host)}: must not be empty.");
        }

        if (!Enum.IsDefined(o.AttachMode))
        {
            errors.Add($"{S}{nameof(o.AttachMode)}: must be Auto, Tcx or Clsact.");
        }

        if (!Enum.IsDefined(o.ClockErrorSource))
        {
            errors.Add($"{S}{nameof(o.ClockErrorSource)}: must be Adjtimex or SharedHostClock.");
        }

        if (o.MaxBins is < 1 or > MaxBinsLimit)
        {
            errors.Add($"{S}{nameof(o.MaxBins)}: {o.MaxBins} must be 1..{MaxBinsLimit}.");
        }

        if (o.MinBinWidthNs < 1_000)
        {
            errors.Add($"{S}{nameof(o.MinBinWidth)}: {o.MinBinWidth} must be at least 1 µs (00:00:00.000001).");
        }

        if (o.MaxBinWidth > TimeSpan.FromSeconds(10) || o.MaxBinWidth < o.MinBinWidth)
        {
            errors.Add($"{S}{nameof(o.MaxBinWidth)}: {o.MaxBinWidth} must lie between {nameof(o.MinBinWidth)} ({o.MinBinWidth}) and 10 s.");
        }

        if (o.MaxRunDuration < o.MinBinWidth || o.MaxRunDuration > TimeSpan.FromHours(1))
        {
            errors.Add($"{S}{nameof(o.MaxRunDuration)}: {o.MaxRunDuration} must lie between {nameof(o.MinBinWidth)} ({o.MinBinWidth}) and 1 h.");
        }

        if (o.MinArmMargin < TimeSpan.FromMilliseconds(1) || o.MinArmMargin > TimeSpan.FromSeconds(10))
        {
            errors.Add($"{S}{nameof(o.MinArmMargin)}: {o.MinArmMargin} must be 1 ms..10 s.");
        }

        if (o.ArmLead < o.MinArmMargin || o.ArmLead > TimeSpan.FromMinutes(1))
        {
            errors.Add($"{S}{nameof(o.ArmLead)}: {o.ArmLead} must lie between {nameof(o.MinArmMargin)} ({o.MinArmMargin}) and 1 min.");
        }

        if (o.MaxLead <= o.MinArmMargin || o.MaxLead > TimeSpan.FromDays(1))
        {
            errors.Add($"{S}{nameof(o.MaxLead)}: {o.MaxLead} must be longer than {nameof(o.MinArmMargin)} and at most 1 day.");
        }

        if (o.CrossRegionRttThresholdUs == 0)
        {
            errors.Add($"{S}{nameof(o.CrossRegionRttThresholdUs)}: must be at least 1 µs.");
        }

        foreach (var p in o.RegionPrefixes)
        {
            try
            {
                RegionPrefix.Parse(p);
            }
            catch (FormatException e)
            {
                errors.Add($"{S}{nameof(o.RegionPrefixes)}: {e.Message}");
            }
        }

        if (!string.IsNullOrWhiteSpace(o.CoordinatorAddress))
        {
            if (ToUri(o.CoordinatorAddress) is null)
            {
                errors.Add($"{S}{nameof(o.CoordinatorAddress)}: '{o.CoordinatorAddress}' must be host:port or http(s)://host:port.");
            }

            if (string.IsNullOrWhiteSpace(o.Rack))
            {
                errors.Add($"{S}{nameof(o.Rack)}: required when {nameof(o.CoordinatorAddress)} is set (the coordinator groups hosts by rack).");
            }
        }
        if (!string.IsNullOrWhiteSpace(o.AdvertisedAddress) && ToUri(o.AdvertisedAddress) is null)
        {
            errors.Add($"{S}{nameof(o.AdvertisedAddress)}: '{o.AdvertisedAddress}' must be host:port.");
        }

        if (o.RegistrationRetryBaseDelay < TimeSpan.FromMilliseconds(1) || o.RegistrationRetryBaseDelay > o.RegistrationRetryMaxDelay)
        {
            errors.Add($"{S}{nameof(o.RegistrationRetryBaseDelay)}: {o.RegistrationRetryBaseDelay} must be at least 1 ms and at most {nameof(o.RegistrationRetryMaxDelay)} ({o.RegistrationRetryMaxDelay}).");
        }

        if (o.RegistrationRetryMaxDelay > TimeSpan.FromMinutes(10))
        {
            errors.Add($"{S}{nameof(o.RegistrationRetryMaxDelay)}: {o.RegistrationRetryMaxDelay} must be at most 10 min.");
        }

        if (o.CoordinatorCallTimeout < TimeSpan.FromMilliseconds(10) || o.CoordinatorCallTimeout > TimeSpan.FromMinutes(1))
        {
            errors.Add($"{S}{nameof(o.CoordinatorCallTimeout)}: {o.CoordinatorCallTimeout} must be 10 ms..1 min.");
        }

        if (o.ShutdownTimeout < TimeSpan.FromSeconds(1) || o.ShutdownTimeout > TimeSpan.FromMinutes(5))
        {
            errors.Add($"{S}{nameof(o.ShutdownTimeout)}: {o.ShutdownTimeout} must be 1 s..5 min.");
        }

        CheckSchedule(o, errors);
        CheckLookback(o, errors);
        errors.AddRange(TriggerRuleValidator.Collect(o.Triggers, AgentOptions.SectionName + ":" + nameof(o.Triggers),
            o.Lookback.Enabled && o.Lookback.DepthBins > LookbackWindow.GuardBins ? o.Lookback.DepthBins - (uint)LookbackWindow.GuardBins : 0));
        return errors;
    }

    private static void CheckLookback(AgentOptions o, List<string> errors)
    {
        var l = o.Lookback;
        const string S = AgentOptions.SectionName + ":" + nameof(AgentOptions.Lookback) + ":";
        if (!l.Enabled)
        {
            return;
        }

        if (l.BinWidthNs is < 10_000 or > 1_000_000_000)
        {
            errors.Add($"{S}{nameof(l.BinWidth)}: {l.BinWidth} must be 10 µs..1 s (00:00:00.00001..00:00:01).");
        }

        if (l.DepthBins is < 64 or > 65536 || !uint.IsPow2(l.DepthBins))
        {
            errors.Add($"{S}{nameof(l.DepthBins)}: {l.DepthBins} must be a power of two in 64..65536 (slots per CPU; 4096 keeps 4.1 s at 1 ms).");
        }
    }

    private static void CheckSchedule(AgentOptions o, List<string> errors)
    {
        var s = o.Schedule;
        const string S = AgentOptions.SectionName + ":" + nameof(AgentOptions.Schedule) + ":";
        if (!s.Enabled)
        {
            return;
        }

        var widths = s.BinWidthsNs;
        if (widths.Count == 0)
        {
            errors.Add($"{S}{nameof(s.BinWidths)}: '{s.BinWidths}' must be a comma-separated list of durations like 10ms,1ms,100us.");
        }

        foreach (long w in widths.Where(w => w < o.MinBinWidthNs || w > o.MaxBinWidthNs))
        {
            errors.Add($"{S}{nameof(s.BinWidths)}: {DurationText.Format(w)} is outside {nameof(o.MinBinWidth)}..{nameof(o.MaxBinWidth)} ({DurationText.Format(o.MinBinWidthNs)}..{DurationText.Format(o.MaxBinWidthNs)}).");
        }

        if (s.Bins < 1 || s.Bins > o.MaxBins)
        {
            errors.Add($"{S}{nameof(s.Bins)}: {s.Bins} must be 1..{AgentOptions.SectionName}:{nameof(o.MaxBins)} ({o.MaxBins}).");
        }

        if (s.StartLead < o.MinArmMargin || s.StartLead > TimeSpan.FromMinutes(1))
        {
            errors.Add($"{S}{nameof(s.StartLead)}: {s.StartLead} must lie between {AgentOptions.SectionName}:{nameof(o.MinArmMargin)} ({o.MinArmMargin}) and 1 min.");
        }

        if (s.Jitter < TimeSpan.Zero || s.Jitter >= s.Period)
        {
            errors.Add($"{S}{nameof(s.Jitter)}: {s.Jitter} must be at least 0 and less than {nameof(s.Period)} ({s.Period}).");
        }
        // One cycle's runs, back to back with their lead, must fit in a period, or cycles would pile up.
        long cycleNs = widths.Sum(w => (w * s.Bins) + TimeNs.Of(s.StartLead));
        if (TimeNs.Of(s.Period) <= cycleNs || s.Period > TimeSpan.FromDays(1))
        {
            errors.Add($"{S}{nameof(s.Period)}: {s.Period} must exceed one cycle's runs ({DurationText.Format(Math.Max(cycleNs, 1))}) and be at most 1 day.");
        }
    }

    /// <summary>Every problem with a ';'-separated list of http://host:port URLs; empty when Kestrel can bind them.</summary>
    internal static IEnumerable<string> ListenErrors(string field, string? url)
    {
        var errors = new List<string>();
        CheckListen(field, url, errors);
        return errors;
    }

    private static void CheckListen(string field, string? url, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(url))
        {
            errors.Add($"{field}: must be a URL like https://198.18.0.2:7300.");
            return;
        }
        foreach (var one in url.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            BindingAddress address;
            try
            {
                address = BindingAddress.Parse(one);
            }
            catch (FormatException)
            {
                errors.Add($"{field}: '{one}' is not a URL like https://198.18.0.2:7300.");
                continue;
            }
            if (address.Scheme is not ("http" or "https"))
            {
                errors.Add($"{field}: '{one}' must use https:// (or http:// in insecure mode).");
            }
            else if (address.Port is < 0 or > 65535)
            {
                errors.Add($"{field}: port {address.Port} is out of range 0..65535.");
            }
            else if (address.Host is not ("*" or "+" or "localhost") && !IPAddress.TryParse(address.Host.Trim('[', ']'), out _))
            {
                errors.Add($"{field}: host '{address.Host}' must be an IP address, localhost or *.");
            }
        }
    }

    /// <summary>The URI for host:port (https:// unless <paramref name="insecure"/>) or an http(s) URL with a port; null when unusable.</summary>
    internal static Uri? ToUri(string address, bool insecure = false)
    {
        if (string.IsNullOrWhiteSpace(address))
        {
            return null;
        }

        bool hasScheme = address.Contains("://", StringComparison.Ordinal);
        if (!Uri.TryCreate(hasScheme ? address : (insecure ? "http://" : "https://") + address, UriKind.Absolute, out var uri))
        {
            return null;
        }

        if (!hasScheme && !address.EndsWith(":" + uri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal))
        {
            return null;
        }

        return uri.Scheme is "http" or "https" && uri.AbsolutePath == "/" ? uri : null;
    }
}
