namespace Millisampler.Agent.Sampling;

/// <summary>
/// One look-back ring bin summed over CPUs, the counters trigger rules watch: absolute bin <see cref="Bin"/>
/// (covering [Bin·w, (Bin+1)·w) TAI ns), bytes of frames in and out, ingress CE-marked bytes, retransmitted
/// TCP payload bytes in and out.
/// </summary>
public readonly record struct RingBin(long Bin, ulong InBytes, ulong OutBytes, ulong InCeBytes, ulong InRetransmitBytes, ulong OutRetransmitBytes);
