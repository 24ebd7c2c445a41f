using Millisampler.Contracts.V1;
using static Millisampler.Analysis.Tests.TestRacks;

namespace Millisampler.Analysis.Tests;

public class AnalysisProtoMapperTests
{
    [Fact]
    public void ToProto_CarriesEveryFieldOfTheAnalysis()
    {
        HostSeries[] rack =
        [
            Host("a", "..XXX...", ceBytesPerBurstBin: 9, retransmitBytesPerBurstBin: 2, connections: 30),
            Host("b", "...XX...", clockErrorNs: BinWidthNs),
            Host("c", "..XX...."),
        ];
        RackAnalysis a = RackAnalyzer.Analyze(rack, BinWidthNs, new AnalysisOptions(0.6, 2));

        CaptureAnalysis p = a.ToProto();

        Assert.Equal(0.6, p.BurstThreshold);
        Assert.Equal(2u, p.EventMinHosts);
        Assert.Equal(a.Contention.Select(c => (uint)c), p.Contention);
        Assert.Equal(["b"], p.UntrustedAlignmentHosts);
        Assert.Equal(a.Bursts.Count, p.Bursts.Count);
        Burst first = p.Bursts[0];
        BurstInfo expected = a.Bursts[0];
        Assert.Equal(
            (expected.Host, (uint)expected.StartBin, (uint)expected.LengthBins, expected.Bytes, expected.PeakUtilization,
                expected.CeBytes, expected.RetransmitBytes, expected.PeakConnections, (uint)expected.MaxContention,
                expected.MeanContention),
            (first.Host, first.StartBin, first.LengthBins, first.Bytes, first.PeakUtilization, first.CeBytes,
                first.RetransmitBytes, first.PeakConnections, first.MaxContention, first.MeanContention));
        Assert.Equal((27UL, 6UL, 30U), (first.CeBytes, first.RetransmitBytes, first.PeakConnections));

        SyncEvent e = Assert.Single(p.Events);
        SyncEventInfo ee = a.Events[0];
        Assert.Equal(
            ((uint)ee.StartBin, (uint)ee.LengthBins, ee.Bytes, ee.CeBytes, ee.RetransmitBytes,
                ee.PeakRackIngressBitsPerSecond, ee.RackLinkCapacityBitsPerSecond, (uint)ee.PeakContention),
            (e.StartBin, e.LengthBins, e.Bytes, e.CeBytes, e.RetransmitBytes, e.PeakRackIngressBitsPerSecond,
                e.RackLinkCapacityBitsPerSecond, e.PeakContention));
        Assert.Equal(["a", "b", "c"], e.Hosts);

        Assert.Equal(a.ContentionLevels.Count, p.ContentionLevels.Count);
        for (int i = 0; i < p.ContentionLevels.Count; i++)
        {
            ContentionLevelInfo l = a.ContentionLevels[i];
            ContentionLevel pl = p.ContentionLevels[i];
            Assert.Equal(
                ((uint)l.Level, (uint)l.Bins, (uint)l.Bursts, (uint)l.BurstsWithCe, (uint)l.BurstsWithRetransmits, l.CeFraction, l.RetransmitFraction),
                (pl.Level, pl.Bins, pl.Bursts, pl.BurstsWithCe, pl.BurstsWithRetransmits, pl.CeFraction, pl.RetransmitFraction));
        }
    }
}
