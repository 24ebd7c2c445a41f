using Millisampler.Analysis;
using Millisampler.Contracts.V1;

namespace Millisampler.Coordinator.Membership;

/// <summary>What an agent said of itself in GetInfo that bounds what a capture may ask of it; 0 = not stated.</summary>
/// <param name="MaxBins">Largest bin count a run may ask for.</param>
/// <param name="MinBinWidthNs">Smallest bin width, ns.</param>
/// <param name="MaxBinWidthNs">Largest bin width, ns.</param>
/// <param name="MaxLeadNs">Furthest ahead a start instant may lie, ns.</param>
/// <param name="LookbackRings">The look-back rings the kernel keeps (width, depth); empty when the recorder is off.</param>
internal sealed record AgentLimits(uint MaxBins, long MinBinWidthNs, long MaxBinWidthNs, long MaxLeadNs,
    IReadOnlyList<RingInfo> LookbackRings)
{
    public AgentLimits(uint maxBins, long minBinWidthNs, long maxBinWidthNs, long maxLeadNs)
        : this(maxBins, minBinWidthNs, maxBinWidthNs, maxLeadNs, [])
    {
    }

    public static AgentLimits From(AgentInfo info) =>
        new(info.MaxBins, info.MinBinWidthNs, info.MaxBinWidthNs, info.MaxLeadNs,
            [.. info.LookbackRings.Select(r => new RingInfo(r.BinWidthNs, r.DepthBins))]);

    /// <summary>The ring of width <paramref name="binWidthNs"/>, or null.</summary>
    public RingInfo? Ring(long binWidthNs) => LookbackRings.FirstOrDefault(r => r.BinWidthNs == binWidthNs);
}

/// <summary>One look-back ring of an agent: the newest <paramref name="DepthBins"/> bins of width <paramref name="BinWidthNs"/>.</summary>
internal sealed record RingInfo(long BinWidthNs, uint DepthBins);

/// <summary>
/// The agent's clock against the coordinator's, measured NTP-style by the coordinator on a call it made:
/// agent minus coordinator, within ± <paramref name="BoundNs"/>.
/// </summary>
internal sealed record ClockOffset(long OffsetNs, long BoundNs, DateTimeOffset MeasuredAt);

/// <summary>One registered agent as the coordinator knows it. Immutable: updates replace the record.</summary>
/// <param name="Host">Host name, unique across racks.</param>
/// <param name="Rack">Rack the host belongs to.</param>
/// <param name="Address">host:port the coordinator dials.</param>
/// <param name="Interfaces">Watched interfaces with link speeds (bits/s).</param>
/// <param name="Clock">Clock state of the last registration or heartbeat.</param>
/// <param name="AgentVersion">Agent version string.</param>
/// <param name="RegisteredAt">First registration.</param>
/// <param name="LastSeen">Last registration or heartbeat.</param>
/// <param name="RoundTrip">EWMA of measured round trips; null until measured.</param>
/// <param name="Limits">Limits from GetInfo; null until probed.</param>
/// <param name="Offset">Clock offset measured on the latest GetInfo probe; null until measured.</param>
internal sealed record HostState(
    string Host,
    string Rack,
    string Address,
    IReadOnlyList<InterfaceInfo> Interfaces,
    ClockState Clock,
    string AgentVersion,
    DateTimeOffset RegisteredAt,
    DateTimeOffset LastSeen,
    TimeSpan? RoundTrip,
    AgentLimits? Limits,
    ClockOffset? Offset = null)
{
    /// <summary>Sum of the interfaces' link speeds, bits/s; 0 when none is known.</summary>
    public ulong LinkSpeedBitsPerSecond => HostAdmission.LinkSpeedBitsPerSecond(Interfaces);
}
