using Millisampler.Common.Time;

namespace Millisampler.Coordinator.Captures;

/// <summary>
/// Chooses a capture's start instant. Pure: the caller passes "now" and the measured round trips.
/// <para>
/// The lead time must cover getting ScheduleRun to every agent, a few retries, and the agent arming its
/// counters; the slowest agent's round trip times a factor covers the first two, the floor covers the third
/// (and agents never measured). The start is then rounded up to a multiple of the bin width in TAI, so every
/// capture of that width, on every rack, sits on one global grid of bins and captures can be compared bin for bin.
/// </para>
/// </summary>
internal static class StartInstantPlanner
{
    /// <summary>
    /// Lead time, ns: <paramref name="rttFactor"/> × the largest round trip (unmeasured hosts count as
    /// <paramref name="assumedRoundTrip"/>), clamped to [<paramref name="floor"/>, <paramref name="ceiling"/>],
    /// and to <paramref name="agentMaxLeadNs"/> minus one bin (the room rounding up may add) when agents state one.
    /// </summary>
    public static long DeriveLeadNs(IEnumerable<TimeSpan?> roundTrips, double rttFactor, TimeSpan assumedRoundTrip,
        TimeSpan floor, TimeSpan ceiling, long agentMaxLeadNs, long binWidthNs)
    {
        TimeSpan slowest = TimeSpan.Zero;
        foreach (TimeSpan? rtt in roundTrips)
        {
            TimeSpan r = rtt ?? assumedRoundTrip;
            if (r > slowest)
            {
                slowest = r;
            }
        }

        double leadNs = (double)TimeNs.Of(slowest) * rttFactor;
        long lead = (long)Math.Clamp(leadNs, TimeNs.Of(floor), TimeNs.Of(ceiling));
        if (agentMaxLeadNs > 0)
        {
            lead = Math.Min(lead, Math.Max(agentMaxLeadNs - binWidthNs, 1));
        }

        return lead;
    }

    /// <summary>The start instant: <paramref name="nowTaiNs"/> + <paramref name="leadNs"/>, rounded up onto the grid of <paramref name="binWidthNs"/>.</summary>
    public static long ChooseStart(long nowTaiNs, long leadNs, long binWidthNs) =>
        RoundUpToGrid(checked(nowTaiNs + leadNs), binWidthNs);

    /// <summary>The smallest multiple of <paramref name="binWidthNs"/> at or after <paramref name="taiNs"/>.</summary>
    public static long RoundUpToGrid(long taiNs, long binWidthNs)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(binWidthNs);
        long remainder = taiNs % binWidthNs;
        if (remainder == 0)
        {
            return taiNs;
        }

        // % keeps the dividend's sign: for negative instants the next multiple is just − remainder away.
        return remainder > 0 ? checked(taiNs - remainder + binWidthNs) : taiNs - remainder;
    }

}
