namespace Millisampler.Agent.Schedule;

/// <summary>When the continuous schedule's cycles start. Pure: the caller passes the clock readings and the random source.</summary>
public static class SchedulePlanner
{
    /// <summary>
    /// The nominal start of the next cycle after the one at <paramref name="currentNominalTai"/>: one period later, or,
    /// when that has already passed (a cycle ran long, the host slept), the first multiple of the period after
    /// <paramref name="nowTai"/> counted from <paramref name="currentNominalTai"/>: missed cycles are dropped, never bunched.
    /// </summary>
    public static long NextNominal(long currentNominalTai, long periodNs, long nowTai)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(periodNs);
        long next = currentNominalTai + periodNs;
        if (next >= nowTai)
        {
            return next;
        }

        long periodsBehind = ((nowTai - currentNominalTai) + periodNs - 1) / periodNs;
        return currentNominalTai + (periodsBehind * periodNs);
    }

    /// <summary>The cycle's actual start: <paramref name="nominalTai"/> plus a uniform delay in [0, <paramref name="jitterNs"/>).</summary>
    public static long Jittered(long nominalTai, long jitterNs, Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        ArgumentOutOfRangeException.ThrowIfNegative(jitterNs);
        return jitterNs == 0 ? nominalTai : nominalTai + random.NextInt64(jitterNs);
    }
}
