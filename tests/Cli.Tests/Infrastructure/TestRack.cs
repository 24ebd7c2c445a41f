using Millisampler.Analysis.Datasets;
using Millisampler.Contracts.V1;

namespace Millisampler.Cli.Tests.Infrastructure;

/// <summary>
/// A three-host rack (a, b, c) of 100 bins of 1 ms with one synchronized event at bins 40..42. At 10 Gbit/s a bin
/// holds 1.25 MB at line rate: every host gets 100 kB per bin (8%), all three 1 MB (80%) in bins 40..42, and host a
/// alone 1 MB in bin 10. Host b carries 500 CE bytes in each event bin, host c 2,000 retransmitted bytes in bin 41.
/// </summary>
public static class TestRack
{
    public const int Bins = 100;
    public const double LinkSpeed = 10e9;

    public static ulong[] Ingress(string host)
    {
        var bytes = Enumerable.Repeat(100_000UL, Bins).ToArray();
        for (int b = 40; b <= 42; b++)
        {
            bytes[b] = 1_000_000;
        }

        if (host == "a")
        {
            bytes[10] = 1_000_000;
        }

        return bytes;
    }

    public static ulong[] Ce(string host)
    {
        var ce = new ulong[Bins];
        if (host == "b")
        {
            ce[40] = ce[41] = ce[42] = 500;
        }

        return ce;
    }

    public static ulong[] Retransmits(string host)
    {
        var r = new ulong[Bins];
        if (host == "c")
        {
            r[41] = 2_000;
        }

        return r;
    }

    /// <summary>The host as Meta publishes it: no link speed, no clock error, sampling_freq = 1 (ms).</summary>
    public static MetaHostFile MetaFile(string host, string rack = "1001", double? samplingFreqMs = 1) =>
        new(host, rack, samplingFreqMs, Ingress(host), new ulong[Bins], Retransmits(host), new ulong[Bins], Ce(host),
            Enumerable.Repeat(4UL, Bins).ToArray());

    /// <summary>Writes a, b, c of <paramref name="rack"/> into <paramref name="dir"/> with Meta's file names.</summary>
    public static void WriteMeta(string dir, string rack = "1001", double? samplingFreqMs = 1)
    {
        foreach (string host in new[] { "a", "b", "c" })
        {
            MetaHostFile f = MetaFile(host, rack, samplingFreqMs);
            MetaDataset.Write(Path.Combine(dir, MetaDataset.DefaultFileName(f)), f);
        }
    }

    /// <summary>The host as our coordinator returns it from GetCaptureSeries.</summary>
    public static Run Run(string host, string rack = "r1")
    {
        var run = new Run
        {
            RunId = "run-" + host,
            Host = host,
            Rack = rack,
            Origin = RunOrigin.Coordinator,
            StartTaiNs = 1_763_823_637_000_000_000,
            BinWidthNs = 1_000_000,
            Bins = Bins,
            BinsRecorded = Bins,
            ClockAtArm = new ClockState { Synchronized = true, MaxErrorNs = 50_000 },
            Status = RunStatus.Complete,
            Series = new RunSeries(),
        };
        run.Interfaces.Add(new InterfaceInfo { Name = "eth0", LinkSpeedBitsPerSecond = (ulong)LinkSpeed });
        run.Series.IngressBytes.AddRange(Ingress(host));
        run.Series.EgressBytes.AddRange(new ulong[Bins]);
        run.Series.IngressCeBytes.AddRange(Ce(host));
        run.Series.IngressRetransmitBytes.AddRange(Retransmits(host));
        run.Series.EgressRetransmitBytes.AddRange(new ulong[Bins]);
        run.Series.Connections.AddRange(Enumerable.Repeat(4u, Bins));
        run.Series.IngressConnections.AddRange(Enumerable.Repeat(3u, Bins));
        return run;
    }

    /// <summary>The capture behind <see cref="Run"/>s of <paramref name="hosts"/>, as GetCapture returns it (no analysis).</summary>
    public static Capture CaptureOf(string captureId, params string[] hosts)
    {
        var c = new Capture
        {
            CaptureId = captureId,
            Rack = "r1",
            State = CaptureState.Analysed,
            StartTaiNs = 1_763_823_637_000_000_000,
            BinWidthNs = 1_000_000,
            Bins = Bins,
        };
        c.Hosts.AddRange(hosts.Select(h => new HostOutcome { Host = h, Outcome = HostOutcomeKind.HostOutcomeCollected, BinsCovered = Bins }));
        return c;
    }
}
