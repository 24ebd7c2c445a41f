using Millisampler.Contracts.V1;

namespace Millisampler.Coordinator.Membership;

/// <summary>
/// The NTP-style offset of an agent's clock from four timestamps: the coordinator sends at t1 and receives the
/// answer at t4 (its own TAI clock); the agent received at t2 and sent at t3 (its TAI clock, <see cref="ClockSample"/>).
/// offset = ((t2 − t1) + (t3 − t4)) / 2 (agent minus coordinator); the true offset lies within ± half the round
/// trip less the agent's processing, ((t4 − t1) − (t3 − t2)) / 2. Pure.
/// </summary>
internal static class ClockOffsetEstimator
{
    /// <summary>The measured offset and its bound, or null when the sample is absent or inconsistent (t3 &lt; t2, t4 &lt; t1).</summary>
    public static (long OffsetNs, long BoundNs)? Estimate(long t1, ClockSample? sample, long t4)
    {
        if (sample is null || sample.ReceiveTaiNs <= 0 || sample.TransmitTaiNs < sample.ReceiveTaiNs || t4 < t1)
        {
            return null;
        }

        long t2 = sample.ReceiveTaiNs;
        long t3 = sample.TransmitTaiNs;
        long offset = ((t2 - t1) + (t3 - t4)) / 2;
        long bound = Math.Max(0, ((t4 - t1) - (t3 - t2)) / 2);
        return (offset, bound);
    }

    /// <summary>
    /// True when the offset certainly exceeds half a bin of <paramref name="binWidthNs"/>: even at the near edge of its
    /// bound (|offset| − bound). A host measured through a slow, asymmetric path is not flagged on noise alone; its
    /// bound is stored beside the offset for anyone to judge.
    /// </summary>
    public static bool ExceedsHalfBin(long offsetNs, long boundNs, long binWidthNs) => (Math.Abs(offsetNs) - Math.Max(boundNs, 0)) * 2 > binWidthNs;
}
