using Millisampler.Agent.Bpf;
using Millisampler.Common.Time;

namespace Millisampler.Agent.Service;

/// <summary>
/// The in-kernel look-back ring (section <c>Agent:Lookback</c>): the newest <see cref="DepthBins"/> bins of
/// <see cref="BinWidth"/> on the absolute TAI grid, whatever is armed, so a window already past can be read (ReadWindow).
/// </summary>
public sealed class LookbackOptions
{
    /// <summary>Keep the ring. Default true: it costs a few ns per packet and 48 bytes per slot and CPU (docs/sampler.md).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Width of the ring's bins, 10 µs..1 s. Default 1 ms, Meta's usual width and the one a ToR buffer's queue is seen at.</summary>
    public TimeSpan BinWidth { get; set; } = TimeNs.ToTimeSpan(LookbackRingOptions.DefaultBinWidthNs);

    /// <summary>Slots per CPU: a power of two, 64..65,536. Default 4,096: 4.096 s at 1 ms, 2,000 bins before a trigger instant plus margin.</summary>
    public uint DepthBins { get; set; } = LookbackRingOptions.DefaultDepthBins;

    /// <summary><see cref="BinWidth"/> in ns.</summary>
    public long BinWidthNs => TimeNs.Of(BinWidth);

    /// <summary>The loader's ring shape; null when off.</summary>
    public LookbackRingOptions? ToRing() => Enabled ? new LookbackRingOptions { BinWidthNs = BinWidthNs, DepthBins = DepthBins } : null;
}
