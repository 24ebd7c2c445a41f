using System.Globalization;
using Millisampler.Common.Text;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Captures;
using Millisampler.Coordinator.Membership;

namespace Millisampler.Coordinator.Alerts;

/// <summary>Where an alert points: a rack, and the host when a host label named it.</summary>
internal sealed record AlertTarget(string Rack, string Host);

/// <summary>The look-back capture for an alert, or why there is none; <paramref name="Note"/> says when the window was trimmed.</summary>
internal sealed record LookbackPlan(StartCaptureRequest? Request, string Note);

/// <summary>Maps alerts to racks and plans the captures an alert asks for. Pure.</summary>
internal static class AlertCapturePlanner
{
    /// <summary>
    /// How long after a window's end its read is assumed to start beyond <c>WindowReadMargin</c> (the gate, the fan-out):
    /// the look-back window keeps clear of bins the ring may overwrite by then.
    /// </summary>
    public const long ReadSlackNs = 100_000_000;

    /// <summary>
    /// The rack of <paramref name="alert"/>: its rack label; else its host label (or <c>instance</c> without the port,
    /// when configured), whose rack the registry knows. Throws <see cref="AlertPayloadException"/> naming the label.
    /// </summary>
    public static AlertTarget Locate(AlertmanagerAlert alert, AlertOptions options, Func<string, string?> rackOfHost, IReadOnlyList<string> knownRacks)
    {
        string at = $"alerts[{alert.Index}].labels";
        if (alert.Labels.TryGetValue(options.RackLabel, out string? rack) && rack.Length > 0)
        {
            return knownRacks.Contains(rack, StringComparer.Ordinal)
                ? new AlertTarget(rack, "")
                : throw new AlertPayloadException($"{at}.{options.RackLabel}",
                    $"rack '{rack}' has no registered hosts (known racks: {Known(knownRacks)})");
        }

        (string? host, string label) = alert.Labels.TryGetValue(options.HostLabel, out string? h) && h.Length > 0
            ? (h, options.HostLabel)
            : options.HostFromInstance && alert.Labels.TryGetValue("instance", out string? instance) && instance.Length > 0
                ? (StripPort(instance), "instance")
                : (null, "");
        if (host is null)
        {
            string labels = options.HostFromInstance
                ? $"'{options.RackLabel}', '{options.HostLabel}' or 'instance'"
                : $"'{options.RackLabel}' or '{options.HostLabel}'";
            throw new AlertPayloadException(at,
                $"the alert has no {labels} label, so no rack to capture (Coordinator:Alerts:RackLabel, HostLabel{(options.HostFromInstance ? ", HostFromInstance" : "")}); labels: {string.Join(", ", alert.Labels.Keys.Order(StringComparer.Ordinal))}");
        }

        return rackOfHost(host) is { } hostRack
            ? new AlertTarget(hostRack, host)
            : throw new AlertPayloadException($"{at}.{label}",
                $"host '{host}' is not registered with this coordinator (known racks: {Known(knownRacks)})");
    }

    /// <summary><c>h01:9100</c> → <c>h01</c>; <c>[2001:db8::1]:9100</c> → <c>2001:db8::1</c>; a bare name or IPv6 address is kept.</summary>
    public static string StripPort(string instance)
    {
        if (instance.StartsWith('['))
        {
            int close = instance.IndexOf(']', StringComparison.Ordinal);
            return close > 0 ? instance[1..close] : instance;
        }

        int colon = instance.LastIndexOf(':');
        return colon > 0 && instance.IndexOf(':', StringComparison.Ordinal) == colon ? instance[..colon] : instance;
    }

    /// <summary>The alert's annotations that are numbers (the values stored with the trigger record).</summary>
    public static IReadOnlyDictionary<string, double> Values(AlertmanagerAlert alert)
    {
        var values = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach ((string key, string text) in alert.Annotations)
        {
            if (double.TryParse(text.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && double.IsFinite(v))
            {
                values[key] = v;
            }
        }

        return values;
    }

    /// <summary>The forward capture every firing alert starts: <c>ForwardBins</c> × <c>ForwardBinWidth</c> on the rack, never queued.</summary>
    public static StartCaptureRequest Forward(string rack, AlertOptions options) =>
        new() { Rack = rack, BinWidthNs = options.ForwardBinWidthNs, Bins = (uint)options.ForwardBins, WaitIfBusy = false };

    /// <summary>
    /// An AROUND window [startsAt − before, startsAt + after) read from the rings, trimmed at its start to the bins the
    /// deepest ring of the rack's hosts will still hold when the window is read (its end, or now if later, plus
    /// <paramref name="readMarginNs"/> and <see cref="ReadSlackNs"/>); none when the ring no longer holds startsAt.
    /// Hosts whose rings are unknown yet (not probed) do not limit the window: they answer for themselves.
    /// </summary>
    public static LookbackPlan Lookback(string rack, long startsAtTaiNs, long nowTaiNs, IReadOnlyList<HostState> hosts, AlertOptions options, long readMarginNs)
    {
        if (!options.Lookback)
        {
            return new LookbackPlan(null, "look-back is off (Coordinator:Alerts:Lookback)");
        }

        long before = TimeNs.Of(options.LookbackBefore);
        long after = TimeNs.Of(options.LookbackAfter);
        var stated = hosts.Select(h => h.Limits).OfType<AgentLimits>().ToList();
        if (stated.Count > 0 && stated.Count == hosts.Count && stated.All(l => l.LookbackRings.Count == 0))
        {
            return new LookbackPlan(null, "the rack's look-back recorders are off");
        }

        var withRings = stated.Where(l => l.LookbackRings.Count > 0).ToList();
        var request = new StartCaptureRequest { Rack = rack, Around = new AroundWindow { InstantTaiNs = startsAtTaiNs, BeforeNs = before, AfterNs = after } };
        if (withRings.Count == 0)
        {
            return new LookbackPlan(request, "");
        }

        // The finest width every host that stated rings keeps, as the capture validator picks it.
        HashSet<long> common = withRings.Skip(1).Aggregate(withRings[0].LookbackRings.Select(r => r.BinWidthNs).ToHashSet(),
            (acc, l) => { acc.IntersectWith(l.LookbackRings.Select(r => r.BinWidthNs)); return acc; });
        if (common.Count == 0)
        {
            return new LookbackPlan(request, "");
        }

        long w = common.Min();
        uint depth = withRings.Max(l => l.Ring(w)!.DepthBins);
        long endNs = startsAtTaiNs + after;
        long readAtNs = Math.Max(nowTaiNs, endNs) + readMarginNs + ReadSlackNs;
        long oldestBin = (readAtNs / w) - depth + 1;
        if (startsAtTaiNs / w < oldestBin)
        {
            return new LookbackPlan(null,
                $"the rings no longer hold the alert's start: startsAt was {DurationText.Format(Math.Max(0, nowTaiNs - startsAtTaiNs))} ago and the deepest ring holds {DurationText.Format(depth * w)} of {DurationText.Format(w)} bins");
        }

        long startNs = Math.Max(startsAtTaiNs - before, oldestBin * w);
        request.BinWidthNs = w;
        request.Around.BeforeNs = startsAtTaiNs - startNs;
        return new LookbackPlan(request, request.Around.BeforeNs < before
            ? $"window trimmed to {DurationText.Format(request.Around.BeforeNs)} before startsAt: the rings hold no older bins"
            : "");
    }

    private static string Known(IReadOnlyList<string> racks) => racks.Count == 0 ? "none registered yet" : string.Join(", ", racks);
}
