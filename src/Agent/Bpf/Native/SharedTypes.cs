using System.Runtime.InteropServices;

namespace Millisampler.Agent.Bpf.Native;

// Mirrors of bpf/millisampler.h. LoaderTests checks their sizes against the loaded object;
// SharedLayoutTests compiles the header and checks every field offset and constant against these.

/// <summary>The MS_REGION_* classes of a flow (struct ms_flow.region, struct ms_prefix_value.region).</summary>
internal static class MsRegion
{
    public const byte Local = 0;
    public const byte Remote = 1;
}

/// <summary>The MS_REGION_SRC_* sources of a flow's class (struct ms_flow.region_src).</summary>
internal static class MsRegionSource
{
    public const byte None = 0;
    public const byte Rtt = 1;
    public const byte Prefix = 2;
}

/// <summary>struct ms_config: what arms a run.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct MsConfig
{
    /// <summary>Start of bin 0 on the program's clock, ns.</summary>
    public ulong StartNs;
    public ulong BinWidthNs;
    public uint Bins;
    public uint Armed;
    public uint RttThresholdUs;
    public uint PrefixGeneration;
}

/// <summary>struct ms_bin: one bin's counters on one CPU.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct MsBin
{
    public ulong InBytes;
    public ulong OutBytes;
    public ulong InPackets;
    public ulong OutPackets;
    public ulong InCeBytes;
    public ulong InRetransmitBytes;
    public ulong OutRetransmitBytes;
    public ulong InCrossRegionBytes;
    public ulong OutCrossRegionBytes;
}

/// <summary>struct ms_sketch: one bin's distinct-flow bitmaps, shared by all CPUs.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct MsSketch
{
    /// <summary>MS_SKETCH_WORDS.</summary>
    public const int Words = 64;

    /// <summary>MS_SKETCH_BITS.</summary>
    public const int Bits = Words * 64;

    public fixed ulong In[Words];
    public fixed ulong Out[Words];
}

/// <summary>struct ms_ring_params: the look-back ring's load-time constants (.rodata.ring).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct MsRingParams
{
    public ulong WidthNs;
    public uint Depth;
    public uint On;
}

/// <summary>struct ms_ring_bin: one ring slot of one CPU, tagged with its absolute bin.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct MsRingBin
{
    public ulong Bin;
    public uint InBytes;
    public uint OutBytes;
    public uint InPackets;
    public uint OutPackets;
    public uint InCeBytes;
    public uint InRetransmitBytes;
    public uint OutRetransmitBytes;
    public uint InCrossRegionBytes;
    public uint OutCrossRegionBytes;
    public uint Pad;
}

/// <summary>struct ms_ring_sketch: one ring slot's bitmaps, shared by all CPUs.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct MsRingSketch
{
    public ulong Bin;
    public fixed ulong In[MsSketch.Words];
    public fixed ulong Out[MsSketch.Words];
}

/// <summary>struct ms_flow_key: a flow in canonical order (the lower address/port pair first); IPv4 in word 0.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct MsFlowKey
{
    public fixed uint AddressLow[4];
    public fixed uint AddressHigh[4];
    public ushort PortLow;
    public ushort PortHigh;
    public byte Family;
    public byte Protocol;
    public fixed byte Padding[2];
}

/// <summary>struct ms_flow_key4: an IPv4 flow's key in canonical order (the key of <c>ms_flows4</c>).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct MsFlowKey4
{
    public uint AddressLow;
    public uint AddressHigh;
    public ushort PortLow;
    public ushort PortHigh;
    public byte Protocol;
    public fixed byte Padding[3];
}

/// <summary>struct ms_flow: per-flow state (the agent reads it only in tests).</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct MsFlow
{
    public fixed uint SeqEnd[2];
    public uint SketchBit;
    public uint PrefixGeneration;
    public ulong RttCheckedNs;
    public fixed byte SeqValid[2];
    public byte Region;
    public byte RegionSource;
    public fixed ushort IpIdMax[2];
}

/// <summary>struct ms_prefix_key: LPM key, IPv4 as ::ffff:a.b.c.d.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct MsPrefixKey
{
    public uint PrefixLength;
    public fixed byte Address[16];
}

/// <summary>struct ms_prefix_value: the class of a prefix's peers (<see cref="MsRegion"/>).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct MsPrefixValue
{
    public uint Region;
}

/// <summary>struct ms_stats: per-CPU diagnostics.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct MsStats
{
    public ulong ArmedEarly;
    public ulong ArmedLate;
    public ulong NotParsed;
    public ulong FlowInsertFailures;
}
