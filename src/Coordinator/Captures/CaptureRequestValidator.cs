using System.Globalization;
using Grpc.Core;
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
internal sealed record CapturePlan(
    string Rack,
    long BinWidthNs,
    uint Bins,
    IReadOnlyList<string> Hosts,
    long LeadTimeNs,
    double BurstThreshold,
    int EventMinHosts,
    bool WaitIfBusy);

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
    public static CapturePlan Validate(StartCaptureRequest request, IReadOnlyList<HostState> rackHosts,
        IReadOnlyList<string> knownRacks, long scheduleMarginNs, long maxCaptureDurationNs = 0)
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

        long minWidth = Math.Max(CaptureLimits.MinBinWidthNs, limits.Select(l => l.MinBinWidthNs).Where(v => v > 0).DefaultIfEmpty(0).Max());
        long maxWidth = Math.Min(CaptureLimits.MaxBinWidthNs, limits.Select(l => l.MaxBinWidthNs).Where(v => v > 0).DefaultIfEmpty(long.MaxValue).Min());
        bool widthNarrowed = minWidth != CaptureLimits.MinBinWidthNs || maxWidth != CaptureLimits.MaxBinWidthNs;
        if (request.BinWidthNs < minWidth || request.BinWidthNs > maxWidth)
        {
            errors.Add(minWidth > maxWidth
                ? $"bin_width_ns: the selected agents share no bin width (their GetInfo limits do not overlap within {Ns(CaptureLimits.MinBinWidthNs)}..{Ns(CaptureLimits.MaxBinWidthNs)})"
                : $"bin_width_ns: {request.BinWidthNs.ToString(CultureInfo.InvariantCulture)} is out of range; allowed {minWidth.ToString(CultureInfo.InvariantCulture)}..{maxWidth.ToString(CultureInfo.InvariantCulture)} ns ({Ns(minWidth)}..{Ns(maxWidth)}{(widthNarrowed ? ", as the selected agents' GetInfo limits allow" : "")})");
        }

        uint maxBins = Math.Min(CaptureLimits.MaxBins, limits.Select(l => l.MaxBins).Where(v => v > 0).DefaultIfEmpty(uint.MaxValue).Min());
        if (request.Bins < 1 || request.Bins > maxBins)
        {
            errors.Add($"bins: {request.Bins} is out of range; allowed 1..{maxBins}{(maxBins != CaptureLimits.MaxBins ? " (the smallest max_bins the selected agents report)" : "")}");
        }

        long durationNs = (long)request.Bins * request.BinWidthNs;
        if (maxCaptureDurationNs > 0 && request.BinWidthNs > 0 && durationNs > maxCaptureDurationNs)
        {
            errors.Add($"bins × bin_width_ns: {request.Bins} × {Ns(request.BinWidthNs)} = {Ns(durationNs)} is longer than a capture may last, {Ns(maxCaptureDurationNs)} (Coordinator:Captures:MaxCaptureDuration)");
        }

        long maxLead = Math.Min(CaptureLimits.MaxLeadTimeNs, limits.Select(l => l.MaxLeadNs).Where(v => v > 0).DefaultIfEmpty(long.MaxValue).Min());
        long minLead = scheduleMarginNs + 1_000_000;
        if (request.LeadTimeNs != 0 && (request.LeadTimeNs < minLead || request.LeadTimeNs > maxLead))
        {
            errors.Add($"lead_time_ns: {request.LeadTimeNs.ToString(CultureInfo.InvariantCulture)} is out of range; allowed 0 (derive from round trips) or {minLead.ToString(CultureInfo.InvariantCulture)}..{maxLead.ToString(CultureInfo.InvariantCulture)} ns ({Ns(minLead)}..{Ns(maxLead)})");
        }

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

        if (errors.Count > 0)
        {
            throw Invalid(string.Join("; ", errors));
        }

        return new CapturePlan(request.Rack, request.BinWidthNs, request.Bins, [.. selected.Select(h => h.Host)],
            request.LeadTimeNs, theta == 0 ? DefaultBurstThreshold : theta,
            request.EventMinHosts == 0 ? DefaultEventMinHosts : (int)request.EventMinHosts, request.WaitIfBusy);
    }

    /// <summary>A duration in ns as a person reads it: "100 µs", "1.5 ms", "2 s".</summary>
    public static string Ns(long ns) => ns switch
    {
        >= 1_000_000_000 => (ns / 1e9).ToString("0.###", CultureInfo.InvariantCulture) + " s",
        >= 1_000_000 => (ns / 1e6).ToString("0.###", CultureInfo.InvariantCulture) + " ms",
        >= 1_000 => (ns / 1e3).ToString("0.###", CultureInfo.InvariantCulture) + " µs",
        _ => ns.ToString(CultureInfo.InvariantCulture) + " ns",
    };

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
