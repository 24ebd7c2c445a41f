using Millisampler.Contracts.V1;

namespace Millisampler.Benchmarks;

/// <summary>
/// Seeded synthetic runs for the run store: one definition of "a realistic run" shared by the store
/// benchmark, the store size test and the crash test. The file is also compiled into
/// tests/StoreCrashWriter, through which tests/Agent.Tests uses it.
/// </summary>
public static class StoreSyntheticRuns
{
    /// <summary>Bins in a Meta-style run.</summary>
    public const int DefaultBins = 2_000;

    /// <summary>1 ms bins, in ns.</summary>
    public const long DefaultBinWidthNs = 1_000_000;

    /// <summary>A start instant in 2025, TAI ns.</summary>
    public const long DefaultStartTaiNs = 1_750_000_000_000_000_000;

    // 12.5 Gbps host link (DOMAIN.md), in bytes per second.
    private const double LinkBytesPerSecond = 12.5e9 / 8;

    /// <summary>
    /// A run shaped like data-center traffic: idle (zero) bins, a low background, and bursts at
    /// 60-100 % of a 12.5 Gbps link (about 1.5 MB per 1 ms bin) lasting a few bins, with CE marks
    /// and extra connections (incast) during ingress bursts, rare retransmissions, and a
    /// cross-region share.
    /// </summary>
    public static Run Realistic(
        string runId,
        int seed,
        int bins = DefaultBins,
        long binWidthNs = DefaultBinWidthNs,
        long startTaiNs = DefaultStartTaiNs)
    {
        var random = new Random(seed);
        var run = Envelope(runId, bins, binWidthNs, startTaiNs);
        var s = run.Series;
        double lineBytes = LinkBytesPerSecond * binWidthNs / 1e9;

        var ingress = Direction(random, bins, lineBytes);
        var egress = Direction(random, bins, lineBytes);
        double crossShare = 0.05 + random.NextDouble() * 0.2;
        uint baseConnections = (uint)random.Next(4, 40);

        for (int i = 0; i < bins; i++)
        {
            ulong inBytes = ingress.Bytes[i];
            ulong outBytes = egress.Bytes[i];
            s.IngressBytes.Add(inBytes);
            s.EgressBytes.Add(outBytes);
            s.IngressPackets.Add(Packets(random, inBytes));
            s.EgressPackets.Add(Packets(random, outBytes));

            bool inBurst = ingress.Burst[i];
            s.IngressCeBytes.Add(inBurst && inBytes > 0.7 * lineBytes
                ? (ulong)(inBytes * random.NextDouble() * 0.3)
                : 0);
            s.IngressRetransmitBytes.Add(random.NextDouble() < 0.02 ? (ulong)(inBytes * random.NextDouble() * 0.05) : 0);
            s.EgressRetransmitBytes.Add(random.NextDouble() < 0.02 ? (ulong)(outBytes * random.NextDouble() * 0.05) : 0);
            s.IngressCrossRegionBytes.Add((ulong)(inBytes * crossShare * (0.5 + random.NextDouble())));
            s.EgressCrossRegionBytes.Add((ulong)(outBytes * crossShare * (0.5 + random.NextDouble())));

            uint inConnections = inBytes == 0 ? 0 : baseConnections + (uint)random.Next(0, 8) + (inBurst ? (uint)random.Next(50, 450) : 0);
            uint outConnections = outBytes == 0 ? 0 : baseConnections + (uint)random.Next(0, 8) + (egress.Burst[i] ? (uint)random.Next(0, 20) : 0);
            s.IngressConnections.Add(inConnections);
            s.EgressConnections.Add(outConnections);
            s.Connections.Add(Math.Min(500u, Math.Max(inConnections, outConnections) + (uint)random.Next(0, 4)));
        }

        return run;
    }

    /// <summary>
    /// Worst case for compression: every value of every series drawn uniformly and independently
    /// up to the realistic maxima (one 12.5 Gbps bin of bytes, a full sketch of 500 connections).
    /// </summary>
    public static Run WorstCase(
        string runId,
        int seed,
        int bins = DefaultBins,
        long binWidthNs = DefaultBinWidthNs,
        long startTaiNs = DefaultStartTaiNs)
    {
        var random = new Random(seed);
        var run = Envelope(runId, bins, binWidthNs, startTaiNs);
        var s = run.Series;
        long lineBytes = (long)(LinkBytesPerSecond * binWidthNs / 1e9);
        long linePackets = lineBytes / 64;
        for (int i = 0; i < bins; i++)
        {
            s.IngressBytes.Add((ulong)random.NextInt64(lineBytes + 1));
            s.EgressBytes.Add((ulong)random.NextInt64(lineBytes + 1));
            s.IngressPackets.Add((ulong)random.NextInt64(linePackets + 1));
            s.EgressPackets.Add((ulong)random.NextInt64(linePackets + 1));
            s.IngressCeBytes.Add((ulong)random.NextInt64(lineBytes + 1));
            s.IngressRetransmitBytes.Add((ulong)random.NextInt64(lineBytes + 1));
            s.EgressRetransmitBytes.Add((ulong)random.NextInt64(lineBytes + 1));
            s.IngressCrossRegionBytes.Add((ulong)random.NextInt64(lineBytes + 1));
            s.EgressCrossRegionBytes.Add((ulong)random.NextInt64(lineBytes + 1));
            s.Connections.Add((uint)random.Next(501));
            s.IngressConnections.Add((uint)random.Next(501));
            s.EgressConnections.Add((uint)random.Next(501));
        }

        return run;
    }

    private static Run Envelope(string runId, int bins, long binWidthNs, long startTaiNs) => new()
    {
        RunId = runId,
        Host = "host-017.rack-042.example",
        Rack = "rack-042",
        Origin = RunOrigin.Coordinator,
        StartTaiNs = startTaiNs,
        BinWidthNs = binWidthNs,
        Bins = (uint)bins,
        BinsRecorded = (uint)bins,
        Interfaces =
        {
            new InterfaceInfo { Name = "eth0", Ifindex = 2, LinkSpeedBitsPerSecond = 12_500_000_000, LinkSpeedSource = "nic" },
        },
        ClockAtArm = new ClockState
        {
            Synchronized = true,
            EstimatedErrorNs = 12_000,
            MaxErrorNs = 250_000,
            TaiOffsetSeconds = 37,
            Source = ClockSource.Tai,
        },
        Status = RunStatus.Complete,
        Series = new RunSeries(),
        CpuCount = 64,
        SketchBits = 128,
        SaturatedSketchBins = 3,
        AttachMode = "tcx",
        RecordedAtUnixNs = startTaiNs - 37_000_000_000 + bins * binWidthNs + 5_000_000,
        CrossRegionRttThresholdUs = 5_000,
    };

    private static (ulong[] Bytes, bool[] Burst) Direction(Random random, int bins, double lineBytes)
    {
        var bytes = new ulong[bins];
        var burst = new bool[bins];
        double idleChance = 0.2 + random.NextDouble() * 0.3;
        double backgroundMean = lineBytes * (0.005 + random.NextDouble() * 0.03);
        for (int i = 0; i < bins; i++)
        {
            if (random.NextDouble() >= idleChance)
            {
                // Exponential background, rounded to whole 1,514-byte-ish frames the way real bins land.
                double value = -Math.Log(1 - random.NextDouble()) * backgroundMean;
                bytes[i] = (ulong)Math.Min(lineBytes, Math.Round(value / 66) * 66);
            }
        }

        // Bursts: on average one every 40 bins, geometric length with mean 4 bins.
        for (int i = 0; i < bins; i++)
        {
            if (random.NextDouble() >= 1.0 / 40)
            {
                continue;
            }

            double level = 0.6 + random.NextDouble() * 0.4;
            for (int j = i; j < bins; j++)
            {
                bytes[j] = (ulong)(lineBytes * Math.Min(1.0, level * (0.9 + random.NextDouble() * 0.1)));
                burst[j] = true;
                if (random.NextDouble() < 0.25)
                {
                    i = j;
                    break;
                }
            }
        }

        return (bytes, burst);
    }

    private static ulong Packets(Random random, ulong bytes)
    {
        if (bytes == 0)
        {
            return 0;
        }

        // Mixed sizes: mostly full frames, some ACKs and small requests.
        double meanFrame = 700 + random.NextDouble() * 800;
        return Math.Max(1, (ulong)Math.Round(bytes / meanFrame));
    }
}
