using Millisampler.Agent.Storage;
using Millisampler.Common.Text;
using Millisampler.Contracts.V1;

namespace Millisampler.Agent.Schedule;

/// <summary>Checks of a ScheduleRun request and of run windows. Pure: no clock, no I/O.</summary>
public static class ScheduleRunRules
{
    /// <summary>The first field out of range, as a message naming it and the allowed range; null when every field is fine.</summary>
    public static string? CheckFields(ScheduleRunRequest request, RunLimits limits)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(limits);
        if (!RunStore.IsValidRunId(request.RunId, out var idError))
        {
            return $"{idError} (run_id must be 1..64 UTF-8 bytes, no control characters, no '/' or '\\')";
        }

        if (request.BinWidthNs < limits.MinBinWidthNs || request.BinWidthNs > limits.MaxBinWidthNs)
        {
            return $"bin_width_ns is {request.BinWidthNs}; allowed {limits.MinBinWidthNs}..{limits.MaxBinWidthNs} ns ({DurationText.Format(limits.MinBinWidthNs)}..{DurationText.Format(limits.MaxBinWidthNs)})";
        }

        if (request.Bins < 1 || request.Bins > limits.MaxBins)
        {
            return $"bins is {request.Bins}; allowed 1..{limits.MaxBins}";
        }

        if (limits.MaxRunDurationNs > 0 && (long)request.Bins * request.BinWidthNs > limits.MaxRunDurationNs)
        {
            long durationNs = (long)request.Bins * request.BinWidthNs;
            return $"bins x bin_width_ns is {request.Bins} x {DurationText.Format(request.BinWidthNs)} = {DurationText.Format(durationNs)}; " +
                $"a run may last at most {DurationText.Format(limits.MaxRunDurationNs)} (Agent:MaxRunDuration)";
        }

        if (request.StartTaiNs <= 0)
        {
            return $"start_tai_ns is {request.StartTaiNs}; it must be a TAI instant in ns since the epoch (> 0)";
        }

        if (request.Requester.Length > 256)
        {
            return $"requester is {request.Requester.Length} characters; at most 256";
        }

        return null;
    }

    /// <summary>Why the start cannot be armed in time or lies too far ahead; null when it is fine.</summary>
    public static string? CheckTiming(long startTaiNs, long nowTaiNs, RunLimits limits)
    {
        long leadNs = startTaiNs - nowTaiNs;
        if (leadNs < 0)
        {
            return $"start_tai_ns {startTaiNs} is already past ({Ms(-leadNs)} ms ago); choose an instant at least {Ms(limits.MinArmMarginNs)} ms ahead";
        }

        if (leadNs < limits.MinArmMarginNs)
        {
            return $"start_tai_ns {startTaiNs} is only {Ms(leadNs)} ms ahead; the agent needs at least {Ms(limits.MinArmMarginNs)} ms to arm the kernel";
        }

        if (leadNs > limits.MaxLeadNs)
        {
            return $"start_tai_ns {startTaiNs} is {Ms(leadNs)} ms ahead; at most {Ms(limits.MaxLeadNs)} ms allowed (Agent:MaxLead)";
        }

        return null;
    }

    /// <summary>True when [aStart, aEnd) and [bStart, bEnd) come closer than <paramref name="gapNs"/>.</summary>
    public static bool Overlaps(long aStart, long aEnd, long bStart, long bEnd, long gapNs) =>
        aStart < bEnd + gapNs && bStart < aEnd + gapNs;

    /// <summary>True when two requests with one id ask for the same run (the requester may differ: a retry).</summary>
    public static bool SameRun(ScheduleRunRequest a, long startTaiNs, long binWidthNs, uint bins) =>
        a.StartTaiNs == startTaiNs && a.BinWidthNs == binWidthNs && a.Bins == bins;

    /// <summary>The first multiple of <paramref name="stepNs"/> at or after <paramref name="ns"/>.</summary>
    public static long AlignUp(long ns, long stepNs) => (ns + stepNs - 1) / stepNs * stepNs;

    /// <summary>ns as ms with one decimal, for messages.</summary>
    public static string Ms(long ns) => (ns / 1e6).ToString("0.#", System.Globalization.CultureInfo.InvariantCulture);
}
