namespace Millisampler.Analysis.Tests;

/// <summary>Hand-made host series: 1 ms bins on an 8 Gbit/s link, so 1,000,000 bytes in a bin is utilization 1.</summary>
internal static class TestRacks
{
    public const long BinWidthNs = 1_000_000;
    public const double LinkSpeed = 8e9;
    public const ulong FullBin = 1_000_000;

    /// <summary>
    /// One host from a pattern, one character per bin: '.' idle, 'l' utilization 0.4, 'h' exactly 0.5,
    /// 'X' 1.0, 'm' missing (past BinsCovered, filled with garbage bytes that must be ignored).
    /// </summary>
    public static HostSeries Host(string name, string pattern, ulong ceBytesPerBurstBin = 0,
        ulong retransmitBytesPerBurstBin = 0, uint connections = 1, long clockErrorNs = 0)
    {
        int bins = pattern.Length;
        int covered = pattern.IndexOf('m') is var m and >= 0 ? m : bins;
        var bytes = new ulong[bins];
        var ce = new ulong[bins];
        var rx = new ulong[bins];
        var conn = new uint[bins];
        for (int b = 0; b < bins; b++)
        {
            bytes[b] = pattern[b] switch
            {
                '.' => 0,
                'l' => FullBin * 4 / 10,
                'h' => FullBin / 2,
                'X' => FullBin,
                'm' => FullBin * 3, // garbage: must never count
                _ => throw new ArgumentException($"bad pattern char {pattern[b]}"),
            };

            if (pattern[b] is 'h' or 'X')
            {
                ce[b] = ceBytesPerBurstBin;
                rx[b] = retransmitBytesPerBurstBin;
            }

            conn[b] = pattern[b] == '.' ? 0 : connections;
        }

        return new HostSeries(name, LinkSpeed, clockErrorNs, covered, bytes, ce, rx, conn);
    }

    /// <summary>A seeded random rack with bursts: each host alternates idle and busy stretches.</summary>
    public static HostSeries[] Random(Random rng, int hosts, int bins, double linkSpeed = 12.5e9,
        long binWidthNs = BinWidthNs, bool partial = false)
    {
        double capacityBytes = linkSpeed * binWidthNs / 1e9 / 8;
        var rack = new HostSeries[hosts];
        for (int h = 0; h < hosts; h++)
        {
            var bytes = new ulong[bins];
            var ce = new ulong[bins];
            var rx = new ulong[bins];
            var conn = new uint[bins];
            bool busy = false;
            for (int b = 0; b < bins; b++)
            {
                if (rng.NextDouble() < (busy ? 0.3 : 0.05))
                {
                    busy = !busy;
                }

                double u = busy ? 0.4 + rng.NextDouble() * 0.7 : rng.NextDouble() * 0.2;
                bytes[b] = (ulong)(u * capacityBytes);
                ce[b] = busy && rng.NextDouble() < 0.2 ? (ulong)rng.Next(1, 100_000) : 0;
                rx[b] = busy && rng.NextDouble() < 0.05 ? (ulong)rng.Next(1, 10_000) : 0;
                conn[b] = (uint)rng.Next(0, busy ? 400 : 20);
            }

            int covered = partial && rng.NextDouble() < 0.3 ? rng.Next(0, bins + 1) : bins;
            rack[h] = new HostSeries($"host{h:D3}", linkSpeed, rng.Next(0, 1_000_000), covered, bytes, ce, rx, conn);
        }

        return rack;
    }
}
