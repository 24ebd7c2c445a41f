using System.Globalization;
using Grpc.Core;
using Millisampler.Common.Text;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Membership;

namespace Millisampler.Coordinator.Captures;

/// <summary>A StartCaptureRequest that passed validation, defaults filled in.</summary>
/// <param name="Rack">Rack to capture.</param>
/// <param name="BinWidthNs">Bin width, ns.</param>
/// <param name="Bins">Bins per host.</param>
/// <param name="Hosts">Hosts to capture, sorted, distinct.</param>
/// <param name="LeadTimeNs">Explicit lead time, ns; 0 = derive from round trips.</param>
/// <param name="BurstThreshold">θ, (0, 1].</param>
/// <param name="EventMinHosts">k, ≥ 2.</param>
/// <param name="WaitIfBusy">Queue behind a running capture instead of failing.</param>
/// <param name="Window">Forward (armed runs), or a window read from the look-back rings.</param>
/// <param name="FirstBin">Window captures: absolute number of the first bin (start TAI ns / bin width).</param>
/// <param name="InstantTaiNs">Around windows: the instant, TAI ns; 0 otherwise.</param>
internal sealed record CapturePlan(
    string Rack,
    long BinWidthNs,
    uint Bins,
    IReadOnlyList<string> Hosts,
    long LeadTimeNs,
    double BurstThreshold,
    int EventMinHosts,
    bool WaitIfBusy,
    CaptureWindow Window = CaptureWindow.Forward,
    long FirstBin = 0,
    long InstantTaiNs = 0)
{
    public bool IsWindow => Window != CaptureWindow.Forward;
}

/// <summary>
/// Checks a StartCaptureRequest against the fixed limits (<see cref="CaptureLimits"/>) and the limits the selected
/// agents state in GetInfo. Pure. Every bad field is named in one INVALID_ARGUMENT with its allowed range.
/// </summary>
internal static class CaptureRequestValidator
{
    public const double DefaultBurstThreshold = 0.5;
    public const int DefaultEventMinHosts = 2;

    /// <summary>The validated plan; throws INVALID_ARGUMENT (bad fields) or NOT_FOUND (unknown rack).</summary>
    /// <param name="request">The request as received.</param>
    /// <param name="rackHosts">Registered hosts of the request's rack; empty when the rack is unknown.</param>
    /// <param name="knownRacks">Every rack, for the NOT_FOUND message.</param>
    /// <param name="scheduleMarginNs">Explicit lead times must exceed this by at least 1 ms.</param>
    /// <param name="maxCaptureDurationNs">Longest capture (bins × bin width), ns; 0 = no limit.</param>
    /// <param name="nowTaiNs">Now on the coordinator's TAI clock: where a look-back window ends.</param>
    /// <param name="taiOffsetSeconds">The coordinator's TAI − UTC, for around.instant_unix_ns.</param>
    public static CapturePlan Validate(StartCaptureRequest request, IReadOnlyList<HostState> rackHosts,
        IReadOnlyList<string> knownRacks, long scheduleMarginNs, long maxCaptureDurationNs = 0, long nowTaiNs = 0,
        int taiOffsetSeconds = 0)
    {
        if (string.IsNullOrWhiteSpace(request.Rack))
        {
            throw Invalid("rack: required");
        }

        if (rackHosts.Count == 0)
        {
            string known = knownRacks.Count == 0 ? "none registered yet" : string.Join(", ", knownRacks);
            throw new RpcException(new Status(StatusCode.NotFound,
                $"rack '{request.Rack}' has no registered hosts (known racks: {known})"));
        }

        var errors = new List<string>();
        var byName = rackHosts.ToDictionary(h => h.Host, StringComparer.Ordinal);
        List<HostState> selected;
        if (request.Hosts.Count == 0)
        {
            selected = [.. rackHosts];
        }
        else
        {
            var unknown = request.Hosts.Where(h => !byName.ContainsKey(h)).Distinct(StringComparer.Ordinal).ToList();
            if (unknown.Count > 0)
            {
                errors.Add($"hosts: not registered in rack '{request.Rack}': {string.Join(", ", unknown.Select(u => $"'{u}'"))}");
            }

            selected = [.. request.Hosts.Where(byName.ContainsKey).Distinct(StringComparer.Ordinal).Select(h => byName[h])];
        }

        selected.Sort((a, b) => string.CompareOrdinal(a.Host, b.Host));
        var limits = selected.Select(h => h.Limits).OfType<AgentLimits>().ToList();
        if (request.WindowCase != StartCaptureRequest.WindowOneofCase.None)
        {
            return ValidateWindow(request, selected, limits, errors, maxCaptureDurationNs, nowTaiNs, taiOffsetSeconds);
        }

        long minWidth = Math.Max(CaptureLimits.MinBinWidthNs, limits.Select(l => l.MinBinWidthNs).Where(v => v > 0).DefaultIfEmpty(0).Max());
        long maxWidth = Math.Min(CaptureLimits.MaxBinWidthNs, limits.Select(l => l.MaxBinWidthNs).Where(v => v > 0).DefaultIfEmpty(long.MaxValue).Min());
        bool widthNarrowed = minWidth != CaptureLimits.MinBinWidthNs || maxWidth != CaptureLimits.MaxBinWidthNs;
        if (request.BinWidthNs < minWidth || request.BinWidthNs > maxWidth)
        {
            errors.Add(minWidth > maxWidth
                ? $"bin_width_ns: the selected agents share no bin width (their GetInfo limits do not overlap within {DurationText.Format(CaptureLimits.MinBinWidthNs)}..{DurationText.Format(CaptureLimits.MaxBinWidthNs)})"
                : $"bin_width_ns: {request.BinWidthNs.ToString(CultureInfo.InvariantCulture)} is out of range; allowed {minWidth.ToString(CultureInfo.InvariantCulture)}..{maxWidth.ToString(CultureInfo.InvariantCulture)} ns ({DurationText.Format(minWidth)}..{DurationText.Format(maxWidth)}{(widthNarrowed ? ", as the selected agents' GetInfo limits allow" : "")})");
        }

        uint maxBins = Math.Min(CaptureLimits.MaxBins, limits.Select(l => l.MaxBins).Where(v => v > 0).DefaultIfEmpty(uint.MaxValue).Min());
        if (request.Bins < 1 || request.Bins > maxBins)
        {
            errors.Add($"bins: {request.Bins} is out of range; allowed 1..{maxBins}{(maxBins != CaptureLimits.MaxBins ? " (the smallest max_bins the selected agents report)" : "")}");
        }

        long durationNs = (long)request.Bins * request.BinWidthNs;
        if (maxCaptureDurationNs > 0 && request.BinWidthNs > 0 && durationNs > maxCaptureDurationNs)
        {
            errors.Add($"bins × bin_width_ns: {request.Bins} × {DurationText.Format(request.BinWidthNs)} = {DurationText.Format(durationNs)} is longer than a capture may last, {DurationText.Format(maxCaptureDurationNs)} (Coordinator:Captures:MaxCaptureDuration)");
        }

        long maxLead = Math.Min(CaptureLimits.MaxLeadTimeNs, limits.Select(l => l.MaxLeadNs).Where(v => v > 0).DefaultIfEmpty(long.MaxValue).Min());
        long minLead = scheduleMarginNs + 1_000_000;
        if (request.LeadTimeNs != 0 && (request.LeadTimeNs < minLead || request.LeadTimeNs > maxLead))
        {
            errors.Add($"lead_time_ns: {request.LeadTimeNs.ToString(CultureInfo.InvariantCulture)} is out of range; allowed 0 (derive from round trips) or {minLead.ToString(CultureInfo.InvariantCulture)}..{maxLead.ToString(CultureInfo.InvariantCulture)} ns ({DurationText.Format(minLead)}..{DurationText.Format(maxLead)})");
        }

        ValidateAnalysis(request, selected, errors);
        double theta = request.BurstThreshold;
        if (errors.Count > 0)
        {
            throw Invalid(string.Join("; ", errors));
        }

        return new CapturePlan(request.Rack, request.BinWidthNs, request.Bins, [.. selected.Select(h => h.Host)],
            request.LeadTimeNs, theta == 0 ? DefaultBurstThreshold : theta,
            request.EventMinHosts == 0 ? DefaultEventMinHosts : (int)request.EventMinHosts, request.WaitIfBusy);
    }

    /// <summary>Most bins a look-back window may span: 65,536 (a minute of 1 ms bins); each host's ring bounds it further.</summary>
    public const uint MaxWindowBins = 65_536;

    /// <summary>Bin width of a window capture that names none, when no selected host reported its rings: 1 ms, the agents' default ring.</summary>
    public const long DefaultRingWidthNs = 1_000_000;

    private static CapturePlan ValidateWindow(StartCaptureRequest request, List<HostState> selected, List<AgentLimits> limits,
        List<string> errors, long maxCaptureDurationNs, long nowTaiNs, int taiOffsetSeconds)
    {
        string which = request.WindowCase == StartCaptureRequest.WindowOneofCase.LookbackNs ? "lookback_ns" : "around";
        var known = limits.Where(l => l.LookbackRings.Count > 0).ToList();
        long w = request.BinWidthNs;
        if (w == 0)
        {
            // The finest width every host that reported rings holds.
            var common = known.Count == 0
                ? [DefaultRingWidthNs]
                : known.Skip(1).Aggregate(known[0].LookbackRings.Select(r => r.BinWidthNs).ToHashSet(),
                    (acc, l) => { acc.IntersectWith(l.LookbackRings.Select(r => r.BinWidthNs)); return acc; }).Order().ToList();
            if (common.Count == 0)
            {
                errors.Add($"bin_width_ns: required: the selected hosts hold no look-back ring of one common width ({RingsText(selected)})");
            }
            else
            {
                w = common[0];
            }
        }
        else if (w < CaptureLimits.MinBinWidthNs || w > CaptureLimits.MaxBinWidthNs)
        {
            errors.Add($"bin_width_ns: {w.ToString(CultureInfo.InvariantCulture)} is out of range; allowed {DurationText.Format(CaptureLimits.MinBinWidthNs)}..{DurationText.Format(CaptureLimits.MaxBinWidthNs)}, or 0 for the finest ring width the hosts hold");
        }
        else if (known.Count > 0 && !known.Any(l => l.Ring(w) is not null))
        {
            errors.Add($"bin_width_ns: no selected host keeps a look-back ring of {DurationText.Format(w)} ({RingsText(selected)}); a forward capture (no window) arms runs at any width");
        }

        if (request.Bins != 0)
        {
            errors.Add($"bins: {request.Bins} with a window: leave 0, the window ({which}) sets the bins");
        }

        if (request.LeadTimeNs != 0)
        {
            errors.Add($"lead_time_ns: {request.LeadTimeNs.ToString(CultureInfo.InvariantCulture)} with a window: leave 0, a window is read, not armed");
        }

        long first = 0, endExclusive = 0, instant = 0;
        if (errors.Count == 0 && w > 0)
        {
            if (request.WindowCase == StartCaptureRequest.WindowOneofCase.LookbackNs)
            {
                long lookback = request.LookbackNs;
                if (lookback < w)
                {
                    errors.Add($"lookback_ns: {lookback.ToString(CultureInfo.InvariantCulture)} is out of range; at least one bin ({DurationText.Format(w)})");
                }
                else
                {
                    // The window ends with the last complete bin before now.
                    endExclusive = Math.DivRem(nowTaiNs, w).Quotient;
                    first = endExclusive - ((lookback + w - 1) / w);
                }
            }
            else
            {
                AroundWindow a = request.Around;
                instant = a.InstantTaiNs != 0 ? a.InstantTaiNs
                    : a.InstantUnixNs != 0 ? Millisampler.Common.Time.TimeNs.TaiFromUnix(a.InstantUnixNs, taiOffsetSeconds) : 0;
                if (a.InstantTaiNs < 0 || a.InstantUnixNs < 0 || instant <= 0)
                {
                    errors.Add("around.instant_tai_ns: required (or around.instant_unix_ns), a positive instant");
                }

                if (a.BeforeNs < 0 || a.AfterNs < 0 || a.BeforeNs + a.AfterNs <= 0)
                {
                    errors.Add($"around.before_ns/around.after_ns: {a.BeforeNs.ToString(CultureInfo.InvariantCulture)}/{a.AfterNs.ToString(CultureInfo.InvariantCulture)}; both ≥ 0 and together at least one bin");
                }
                else if (instant > 0)
                {
                    first = Math.DivRem(instant - a.BeforeNs, w).Quotient;
                    endExclusive = (instant + a.AfterNs + w - 1) / w;
                    if (maxCaptureDurationNs > 0 && (endExclusive * w) - nowTaiNs > maxCaptureDurationNs)
                    {
                        errors.Add($"around: the window ends {DurationText.Format((endExclusive * w) - nowTaiNs)} from now; at most {DurationText.Format(maxCaptureDurationNs)} ahead (Coordinator:Captures:MaxCaptureDuration)");
                    }
                }
            }
        }

        long bins = endExclusive - first;
        if (errors.Count == 0)
        {
            uint deepest = known.Select(l => l.Ring(w)?.DepthBins ?? 0).DefaultIfEmpty(MaxWindowBins).Max();
            uint maxBins = Math.Min(MaxWindowBins, deepest);
            if (bins < 1 || bins > maxBins)
            {
                errors.Add($"{which}: the window is {bins} bins of {DurationText.Format(w)}; allowed 1..{maxBins}{(maxBins < MaxWindowBins ? " (the deepest ring of the selected hosts)" : "")}");
            }
            else if (maxCaptureDurationNs > 0 && bins * w > maxCaptureDurationNs)
            {
                errors.Add($"{which}: the window lasts {DurationText.Format(bins * w)}, longer than a capture may last, {DurationText.Format(maxCaptureDurationNs)} (Coordinator:Captures:MaxCaptureDuration)");
            }
        }

        ValidateAnalysis(request, selected, errors);
        if (errors.Count > 0)
        {
            throw Invalid(string.Join("; ", errors));
        }

        CaptureWindow kind = request.WindowCase == StartCaptureRequest.WindowOneofCase.LookbackNs ? CaptureWindow.Lookback : CaptureWindow.Around;
        return new CapturePlan(request.Rack, w, (uint)bins, [.. selected.Select(h => h.Host)], 0,
            request.BurstThreshold == 0 ? DefaultBurstThreshold : request.BurstThreshold,
            request.EventMinHosts == 0 ? DefaultEventMinHosts : (int)request.EventMinHosts, false, kind, first, instant);
    }

    private static string RingsText(IEnumerable<HostState> hosts)
    {
        var parts = hosts.Where(h => h.Limits is not null)
            .Select(h => $"{h.Host}: {(h.Limits!.LookbackRings.Count == 0 ? "recorder off" : string.Join(", ", h.Limits.LookbackRings.Select(r => $"{DurationText.Format(r.BinWidthNs)} × {r.DepthBins}")))}")
            .Take(5).ToList();
        return parts.Count == 0 ? "no host has reported its rings yet" : "rings: " + string.Join("; ", parts);
    }

    private static void ValidateAnalysis(StartCaptureRequest request, List<HostState> selected, List<string> errors)
    {
        double theta = request.BurstThreshold;
        if (theta != 0 && !(theta > 0 && theta <= 1))
        {
            errors.Add($"burst_threshold: {theta.ToString(CultureInfo.InvariantCulture)} is out of range; allowed (0, 1] (a fraction of link speed), or 0 for the default {DefaultBurstThreshold.ToString(CultureInfo.InvariantCulture)}");
        }

        int maxK = Math.Max(DefaultEventMinHosts, selected.Count);
        if (request.EventMinHosts != 0 && (request.EventMinHosts < DefaultEventMinHosts || request.EventMinHosts > maxK))
        {
            errors.Add($"event_min_hosts: {request.EventMinHosts} is out of range; allowed {DefaultEventMinHosts}..{maxK} (hosts in the capture), or 0 for the default {DefaultEventMinHosts}");
        }
    }

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
