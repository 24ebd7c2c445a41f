using System.Text.RegularExpressions;
using Grpc.Core;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Captures;

namespace Millisampler.Coordinator.Sweeps;

/// <summary>Checks a sweep definition and fills its defaults; every problem is listed in one INVALID_ARGUMENT.</summary>
internal static partial class SweepDefinitionValidator
{
    /// <summary>The bin widths a sweep may use: 100 µs, 1 ms, 10 ms.</summary>
    public static readonly IReadOnlyList<long> AllowedBinWidthsNs = [100_000, 1_000_000, 10_000_000];

    /// <summary>Shortest period: one minute.</summary>
    public const long MinPeriodNs = 60_000_000_000;

    /// <summary>Longest period: 7 days.</summary>
    public const long MaxPeriodNs = 7L * 24 * 3600 * 1_000_000_000;

    /// <summary>Lead time and collection a sweep capture needs besides its bins, at most: 10 s.</summary>
    private const long LeadTimeAllowanceNs = 10_000_000_000;

    /// <summary>The checked definition with defaults filled (alignment STAGGERED, max_concurrent 4); throws INVALID_ARGUMENT otherwise.</summary>
    public static SweepDefinition Validate(SweepDefinition? definition)
    {
        var errors = new List<string>();
        if (definition is null)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "definition: required"));
        }

        SweepDefinition d = definition.Clone();
        if (!Name().IsMatch(d.Name))
        {
            errors.Add($"name: 1..64 letters, digits, '-', '_' or '.'; got '{d.Name}'");
        }

        SweepRacks racks = d.Racks ?? new SweepRacks();
        int selectors = (racks.All ? 1 : 0) + (racks.Names.Count > 0 ? 1 : 0) + (racks.Pattern.Length > 0 ? 1 : 0);
        if (selectors != 1)
        {
            errors.Add("racks: exactly one of all, names or pattern");
        }

        if (racks.Names.Any(string.IsNullOrWhiteSpace))
        {
            errors.Add("racks.names: empty rack name");
        }

        if (racks.Pattern.Length > 200)
        {
            errors.Add("racks.pattern: at most 200 characters");
        }

        if (d.Widths.Count is < 1 or > 3)
        {
            errors.Add("widths: 1 to 3 bin widths");
        }

        foreach (SweepWidth w in d.Widths)
        {
            if (!AllowedBinWidthsNs.Contains(w.BinWidthNs))
            {
                errors.Add($"widths.bin_width_ns: {w.BinWidthNs} is not one of 100000 (100us), 1000000 (1ms), 10000000 (10ms)");
            }

            if (w.Bins is < 1 or > CaptureLimits.MaxBins)
            {
                errors.Add($"widths.bins: {w.Bins} at width {w.BinWidthNs} ns is outside 1..{CaptureLimits.MaxBins}");
            }
        }

        if (d.Widths.Select(w => w.BinWidthNs).Distinct().Count() != d.Widths.Count)
        {
            errors.Add("widths: each bin width at most once");
        }

        if (d.PeriodNs is < MinPeriodNs or > MaxPeriodNs)
        {
            errors.Add($"period_ns: {d.PeriodNs} is outside 1 minute .. 7 days");
        }
        else
        {
            // The widths of a rack are spaced period/widths apart; each capture (and its lead time) must fit in its share.
            long share = d.PeriodNs / Math.Max(1, d.Widths.Count);
            long longest = d.Widths.Select(w => w.BinWidthNs * w.Bins).DefaultIfEmpty(0).Max();
            if (longest + LeadTimeAllowanceNs > share)
            {
                errors.Add($"period_ns: too short for {d.Widths.Count} width(s): each needs its capture ({longest / 1e9:0.###} s) plus 10 s of lead time within period/widths");
            }
        }

        if (d.JitterNs < 0 || (d.PeriodNs > 0 && d.JitterNs >= d.PeriodNs))
        {
            errors.Add($"jitter_ns: {d.JitterNs} must be in [0, period_ns)");
        }

        if (d.MaxConcurrent > 1000)
        {
            errors.Add($"max_concurrent: {d.MaxConcurrent} is above 1000");
        }

        if (d.Window is { } window && (window.StartMinute >= 1440 || window.EndMinute >= 1440))
        {
            errors.Add("window: start_minute and end_minute are minutes of the day, 0..1439");
        }

        if (errors.Count > 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "invalid sweep: " + string.Join("; ", errors)));
        }

        if (d.Alignment == SweepAlignment.Unspecified)
        {
            d.Alignment = SweepAlignment.Staggered;
        }

        if (d.MaxConcurrent == 0)
        {
            d.MaxConcurrent = SweepPlanner.DefaultMaxConcurrent;
        }

        d.Racks = racks;
        return d;
    }

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex Name();
}
