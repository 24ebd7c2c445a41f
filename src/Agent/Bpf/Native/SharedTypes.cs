using System.Runtime.InteropServices;

namespace Millisampler.Agent.Bpf.Native;

// Mirrors of bpf/millisampler.h. SharedTypesTests checks these sizes against the loaded object.

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
    public const int Words = 64;
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

/// <summary>struct ms_flow (only its size matters to the agent).</summary>
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

/// <summary>struct ms_stats: per-CPU diagnostics.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct MsStats
{
    public ulong ArmedEarly;
    public ulong ArmedLate;
    public ulong NotParsed;
    public ulong FlowInsertFailures;
}
