using Millisampler.Contracts.V1;

namespace Millisampler.Analysis;

/// <summary>
/// The rules that decide how a host's run enters a rack analysis, in one place for the coordinator and the
/// offline <c>analyze</c> command: its link speed and whether its bins can be trusted to line up with the others'.
/// </summary>
public static class HostAdmission
{
    /// <summary>
    /// A host's bins line up with the rack's within half a bin when its clock error is known and at most w/2
    /// (written err ≤ w − err so that it cannot overflow). A negative error means unknown: not trusted.
    /// </summary>
    public static bool AlignmentTrusted(long clockErrorNs, long binWidthNs) =>
        clockErrorNs >= 0 && clockErrorNs <= binWidthNs - clockErrorNs;

    /// <summary>A host's link speed: the sum of its watched interfaces' speeds, bits/s; 0 when none is known.</summary>
    public static ulong LinkSpeedBitsPerSecond(IEnumerable<InterfaceInfo> interfaces)
    {
        ArgumentNullException.ThrowIfNull(interfaces);
        ulong sum = 0;
        foreach (InterfaceInfo i in interfaces)
        {
            sum += i.LinkSpeedBitsPerSecond;
        }

        return sum;
    }
}
