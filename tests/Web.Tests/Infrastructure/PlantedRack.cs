using Millisampler.Analysis;
using Millisampler.Analysis.Datasets;
using Millisampler.Contracts.V1;

namespace Millisampler.Web.Tests.Infrastructure;

/// <summary>
/// A rack with known traffic, the ground truth the browser tests hold the views to. Twelve hosts (host-01..host-12),
/// 400 bins of 1 ms, 10 Gbit/s links (1,250,000 bytes per bin at line rate). Every host receives 125,000 bytes per bin
/// (10%) and sends 40,000. Planted on top:
/// <list type="bullet">
/// <item>one synchronized event: host-03, host-07 and host-11 receive 1,125,000 bytes (90%) in bins 200..204;
/// host-07 carries 10,000 CE bytes and host-11 5,000 retransmitted bytes in bin 202;</item>
/// <item>a lone burst: host-05 receives 1,187,500 bytes (95%) in bins 60..61;</item>
/// <item>an ingress stall: host-09 receives nothing in bins 300..309 while it keeps sending.</item>
/// </list>
/// A thirteenth host, host-13, was asked but refused (no data).
/// </summary>
public static class PlantedRack
{
    public const string Rack = "r7";
    public const int Bins = 400;
    public const long BinWidthNs = 1_000_000;
    public const double LinkSpeed = 10e9;
    public const ulong Background = 125_000;
    public const ulong Egress = 40_000;
    public const ulong EventBytes = 1_125_000;
    public const int EventStart = 200;
    public const int EventBins = 5;
    public const ulong LoneBurstBytes = 1_187_500;
    public const int LoneBurstStart = 60;
    public const int LoneBurstBins = 2;
    public const int StallStart = 300;
    public const int StallBins = 10;
    public const string StallHost = "host-09";
    public const string LoneHost = "host-05";
    public const string RefusedHost = "host-13";
    public const string RefusedReason = "agent refused: run limits exceeded (bins 400 > 300)";

    /// <summary>TAI start of bin 0, ns (on the 1 ms grid).</summary>
    public const long StartTaiNs = 1_763_823_637_000_000_000;

    public static readonly string[] EventHosts = ["host-03", "host-07", "host-11"];

    public static IReadOnlyList<string> Hosts { get; } = [.. Enumerable.Range(1, 12).Select(i => $"host-{i:00}")];

    public static ulong[] Ingress(string host)
    {
        var bytes = Enumerable.Repeat(Background, Bins).ToArray();
        if (EventHosts.Contains(host))
        {
            Array.Fill(bytes, EventBytes, EventStart, EventBins);
        }

        if (host == LoneHost)
        {
            Array.Fill(bytes, LoneBurstBytes, LoneBurstStart, LoneBurstBins);
        }

        if (host == StallHost)
        {
            Array.Fill(bytes, 0UL, StallStart, StallBins);
        }

        return bytes;
    }

    /// <summary>True when <paramref name="host"/> is planted at or above θ = 50% of line rate in <paramref name="bin"/>.</summary>
    public static bool IsBurst(string host, int bin) =>
        (EventHosts.Contains(host) && bin >= EventStart && bin < EventStart + EventBins)
        || (host == LoneHost && bin >= LoneBurstStart && bin < LoneBurstStart + LoneBurstBins);

    public static ulong[] EgressBytes() => Enumerable.Repeat(Egress, Bins).ToArray();

    public static ulong[] Ce(string host)
    {
        var ce = new ulong[Bins];
        if (host == "host-07")
        {
            ce[202] = 10_000;
        }

        return ce;
    }

    public static ulong[] Retransmits(string host)
    {
        var r = new ulong[Bins];
        if (host == "host-11")
        {
            r[202] = 5_000;
        }

        return r;
    }

    /// <summary>The hosts as Meta publishes them (no link speed: pass --link-speed 10g), for <c>millisampler report DIR</c>.</summary>
    public static void WriteMeta(string dir)
    {
        foreach (string host in Hosts)
        {
            var f = new MetaHostFile(host, Rack, 1, Ingress(host), EgressBytes(), Retransmits(host), new ulong[Bins], Ce(host),
                Enumerable.Repeat(4UL, Bins).ToArray());
            MetaDataset.Write(Path.Combine(dir, MetaDataset.DefaultFileName(f)), f);
        }
    }

    /// <summary>Each host's run as an agent returns it.</summary>
    public static IReadOnlyList<Run> Runs() => [.. Hosts.Select(host =>
    {
        var run = new Run
        {
            RunId = "run-" + host,
            Host = host,
            Rack = Rack,
            Origin = RunOrigin.Coordinator,
            StartTaiNs = StartTaiNs,
            BinWidthNs = BinWidthNs,
            Bins = Bins,
            BinsRecorded = Bins,
            ClockAtArm = new ClockState { Synchronized = true, MaxErrorNs = 20_000 },
            Status = RunStatus.Complete,
            Series = new RunSeries(),
        };
        run.Interfaces.Add(new InterfaceInfo { Name = "eth0", LinkSpeedBitsPerSecond = (ulong)LinkSpeed });
        run.Series.IngressBytes.AddRange(Ingress(host));
        run.Series.EgressBytes.AddRange(EgressBytes());
        run.Series.IngressCeBytes.AddRange(Ce(host));
        run.Series.IngressRetransmitBytes.AddRange(Retransmits(host));
        run.Series.EgressRetransmitBytes.AddRange(new ulong[Bins]);
        run.Series.Connections.AddRange(Enumerable.Repeat(4u, Bins));
        run.Series.IngressConnections.AddRange(Enumerable.Repeat(3u, Bins));
        return run;
    })];

    /// <summary>The host whose clock the coordinator measured 100 ms off (flagged: beyond half a bin by more than the bound).</summary>
    public const string OffCentreHost = "host-12";

    /// <summary>
    /// The coordinator's measured clock offset and its bound per host, ns: host-NN is (NN − 6) × 10 µs + 123 ns off, ±
    /// 250.4 µs; <see cref="OffCentreHost"/> 100,012,345 ns ± 1.2 ms.
    /// </summary>
    public static (long OffsetNs, long BoundNs) MeasuredOffset(string host) =>
        host == OffCentreHost ? (100_012_345, 1_200_000) : (((int.Parse(host[5..], System.Globalization.CultureInfo.InvariantCulture) - 6) * 10_000) + 123, 250_400);

    /// <summary>The analysed capture the coordinator would store for <see cref="Runs"/>, with host-13 refused.</summary>
    public static Capture Capture(string captureId, long requestedAtUnixNs)
    {
        var series = Hosts.Select(h => new HostSeries(h, LinkSpeed, 20_000, Bins, Ingress(h), Ce(h), Retransmits(h),
            Enumerable.Repeat(3u, Bins).ToArray(), EgressBytes())).ToList();
        RackAnalysis rack = RackAnalyzer.Analyze(series, BinWidthNs, new AnalysisOptions());
        var capture = new Capture
        {
            CaptureId = captureId,
            Rack = Rack,
            State = CaptureState.Analysed,
            StartTaiNs = StartTaiNs,
            BinWidthNs = BinWidthNs,
            Bins = Bins,
            RequestedAtUnixNs = requestedAtUnixNs,
            CompletedAtUnixNs = requestedAtUnixNs + 2_000_000_000,
            HostsCovered = (uint)Hosts.Count,
            HostsRequested = (uint)Hosts.Count + 1,
            Origin = CaptureOrigin.Engineer,
            RequestedBy = "web-test",
            Analysis = rack.ToProto(RackInsightsAnalyzer.Analyze(series, rack, new InsightOptions())),
        };
        for (int i = 0; i < Hosts.Count; i++)
        {
            (long offset, long bound) = MeasuredOffset(Hosts[i]);
            capture.Hosts.Add(new HostOutcome
            {
                Host = Hosts[i],
                Outcome = HostOutcomeKind.HostOutcomeCollected,
                BinsCovered = Bins,
                ClockErrorNs = 20_000,
                AlignmentTrusted = true,
                LinkSpeedBitsPerSecond = (ulong)LinkSpeed,
                OffsetMeasured = true,
                MeasuredOffsetNs = offset,
                MeasuredOffsetBoundNs = bound,
                OffsetExceedsHalfBin = Hosts[i] == OffCentreHost,
            });
        }

        capture.Hosts.Add(new HostOutcome { Host = RefusedHost, Outcome = HostOutcomeKind.HostOutcomeRefused, Reason = RefusedReason });
        return capture;
    }
}
