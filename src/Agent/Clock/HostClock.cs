using Millisampler.Agent.Bpf.Native;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;

namespace Millisampler.Agent.Clock;

/// <summary>How the agent states its clock error.</summary>
public enum ClockErrorSource
{
    /// <summary>From adjtimex(2): maxerror, esterror and the unsynchronized flag, as the clock daemon keeps them.</summary>
    Adjtimex,

    /// <summary>
    /// Every agent reads the same kernel clock (several agents on one machine, as in the lab rack):
    /// their relative error is zero whatever adjtimex says about UTC.
    /// </summary>
    SharedHostClock,
}

/// <summary>The host's clocks: TAI now, the mapping onto CLOCK_MONOTONIC, and the clock's stated error.</summary>
public class HostClock
{
    private readonly ClockErrorSource _errorSource;

    public HostClock(ClockErrorSource errorSource = ClockErrorSource.Adjtimex) => _errorSource = errorSource;

    /// <summary>CLOCK_TAI now, ns since the epoch.</summary>
    public virtual long NowTaiNs() => SystemClocks.TaiNs();

    /// <summary>
    /// TAI minus CLOCK_MONOTONIC, ns: what to subtract from a TAI instant to get the monotonic
    /// instant the kernel program compares against on kernels without bpf_ktime_get_tai_ns.
    /// Of three paired readings it keeps the one taken in the shortest window.
    /// </summary>
    public virtual long TaiMinusMonotonicNs()
    {
        long best = 0, bestWindow = long.MaxValue;
        for (int i = 0; i < 3; i++)
        {
            long m0 = SystemClocks.MonotonicNs();
            long t = SystemClocks.TaiNs();
            long m1 = SystemClocks.MonotonicNs();
            if (m1 - m0 < bestWindow)
            {
                bestWindow = m1 - m0;
                best = t - (m0 + (m1 - m0) / 2);
            }
        }
        return best;
    }

    /// <summary>The clock's state now.</summary>
    public virtual unsafe ClockState ReadState(ClockSource source)
    {
        if (_errorSource == ClockErrorSource.SharedHostClock)
        {
            return new ClockState { Synchronized = true, EstimatedErrorNs = 0, MaxErrorNs = 0, Source = source };
        }
        Libc.Timex tx = default;
        int state = Libc.AdjTimex(&tx);
        if (state < 0)
        {
            return new ClockState { Synchronized = false, Source = source };
        }

        return new ClockState
        {
            Synchronized = (tx.Status & Libc.StaUnsync) == 0,
            EstimatedErrorNs = tx.EstErrorUs * 1000,
            MaxErrorNs = tx.MaxErrorUs * 1000,
            TaiOffsetSeconds = tx.Tai,
            Source = source,
        };
    }
}
