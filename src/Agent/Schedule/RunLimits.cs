namespace Millisampler.Agent.Schedule;

/// <summary>What a run may ask for on this agent: the configured limits, capped by the loaded kernel program.</summary>
/// <param name="MinBinWidthNs">Narrowest bin, ns.</param>
/// <param name="MaxBinWidthNs">Widest bin, ns.</param>
/// <param name="MaxBins">Most bins.</param>
/// <param name="MaxLeadNs">Furthest ahead a start may lie, ns.</param>
/// <param name="MinArmMarginNs">Nearest a start may lie, and the gap kept between runs, ns.</param>
/// <param name="ArmLeadNs">A coordinator run is armed this long before its start, ns.</param>
/// <param name="MaxRunDurationNs">Longest run (bins × bin width), ns; 0 = no limit.</param>
public sealed record RunLimits(long MinBinWidthNs, long MaxBinWidthNs, uint MaxBins, long MaxLeadNs, long MinArmMarginNs, long ArmLeadNs,
    long MaxRunDurationNs = 0);
