using static Millisampler.Analysis.Tests.TestRacks;

namespace Millisampler.Analysis.Tests;

public class RackAnalyzerTests
{
    private static readonly AnalysisOptions Defaults = new();

    [Fact]
    public void Analyze_ThreeHostsBurstTogether_OneEventWithThoseHosts()
    {
        HostSeries[] rack =
        [
            Host("a", "..XXX..."),
            Host("b", "...XX..."),
            Host("c", "..XX...."),
            Host("d", "........"),
        ];

        RackAnalysis r = RackAnalyzer.Analyze(rack, BinWidthNs, Defaults);

        Assert.Equal([0, 0, 2, 3, 2, 0, 0, 0], r.Contention);
        Assert.Equal(
            [("a", 2, 3), ("c", 2, 2), ("b", 3, 2)],
            r.Bursts.Select(b => (b.Host, b.StartBin, b.LengthBins)));
        SyncEventInfo e = Assert.Single(r.Events);
        Assert.Equal((2, 3, 3), (e.StartBin, e.LengthBins, e.PeakContention));
        Assert.Equal(["a", "b", "c"], e.Hosts);
        Assert.Equal(7 * FullBin, e.Bytes);
        Assert.Equal(3 * FullBin * 8 / 1e-3, e.PeakRackIngressBitsPerSecond, 6);
        Assert.Equal(4 * LinkSpeed, e.RackLinkCapacityBitsPerSecond);
    }

    [Fact]
    public void Analyze_ThreeHostsBurstTogether_EachBurstReportsContentionMetExcludingItself()
    {
        HostSeries[] rack = [Host("a", "..XXX..."), Host("b", "...XX..."), Host("c", "..XX....")];

        RackAnalysis r = RackAnalyzer.Analyze(rack, BinWidthNs, Defaults);

        BurstInfo a = r.Bursts.Single(b => b.Host == "a");
        Assert.Equal(2, a.MaxContention);
        Assert.Equal(4.0 / 3, a.MeanContention, 12);
        BurstInfo b = r.Bursts.Single(x => x.Host == "b");
        Assert.Equal((2, 1.5), (b.MaxContention, b.MeanContention));
        BurstInfo c = r.Bursts.Single(x => x.Host == "c");
        Assert.Equal((2, 1.5), (c.MaxContention, c.MeanContention));
    }

    [Fact]
    public void Analyze_Burst_ReportsBytesPeakUtilizationCeRetransmitAndPeakConnections()
    {
        HostSeries h = Host("a", ".hX.", ceBytesPerBurstBin: 100, retransmitBytesPerBurstBin: 7, connections: 40);
        h.IngressConnections[2] = 300;

        BurstInfo b = Assert.Single(RackAnalyzer.Analyze([h], BinWidthNs, Defaults).Bursts);

        Assert.Equal((1, 2), (b.StartBin, b.LengthBins));
        Assert.Equal(FullBin / 2 + FullBin, b.Bytes);
        Assert.Equal(1.0, b.PeakUtilization, 12);
        Assert.Equal((200UL, 14UL, 300U), (b.CeBytes, b.RetransmitBytes, b.PeakConnections));
        Assert.Equal((0, 0.0), (b.MaxContention, b.MeanContention));
    }

    [Fact]
    public void Analyze_UtilizationExactlyAtThreshold_IsABurstAndJustBelowIsNot()
    {
        RackAnalysis r = RackAnalyzer.Analyze([Host("a", ".h.l.")], BinWidthNs, new AnalysisOptions(0.5));

        BurstInfo b = Assert.Single(r.Bursts);
        Assert.Equal(1, b.StartBin);
    }

    [Fact]
    public void Analyze_LowerThreshold_TurnsModerateBinsIntoBursts()
    {
        RackAnalysis r = RackAnalyzer.Analyze([Host("a", ".h.l.")], BinWidthNs, new AnalysisOptions(0.4));

        Assert.Equal([1, 3], r.Bursts.Select(b => b.StartBin));
    }

    [Fact]
    public void Analyze_HostAloneBurstingEveryBin_MakesNoEvent()
    {
        RackAnalysis r = RackAnalyzer.Analyze([Host("a", "XXXXXX"), Host("b", "......")], BinWidthNs, Defaults);

        Assert.Empty(r.Events);
        Assert.All(r.Contention, c => Assert.True(c <= 1));
    }

    [Fact]
    public void Analyze_HostsBurstingOneAfterAnother_MakeNoEvent()
    {
        RackAnalysis r = RackAnalyzer.Analyze(
            [Host("a", "XX......"), Host("b", "..XX...."), Host("c", "....XX..")], BinWidthNs, Defaults);

        Assert.Equal(3, r.Bursts.Count);
        Assert.Empty(r.Events);
    }

    [Fact]
    public void Analyze_MissingBins_NeverMakeBurstsEvenWithGarbageBytes()
    {
        // Host b's bins from 3 on are missing and hold garbage bytes (3x line rate) that must be ignored.
        RackAnalysis r = RackAnalyzer.Analyze([Host("a", "..XXXX"), Host("b", "..Xmmm")], BinWidthNs, Defaults);

        Assert.Equal([("a", 2, 4), ("b", 2, 1)], r.Bursts.Select(b => (b.Host, b.StartBin, b.LengthBins)));
        Assert.Equal([0, 0, 2, 1, 1, 1], r.Contention);
        SyncEventInfo e = Assert.Single(r.Events);
        Assert.Equal((2, 1), (e.StartBin, e.LengthBins));
    }

    [Fact]
    public void Analyze_BurstRunningIntoCutOff_EndsAtLastCoveredBin()
    {
        BurstInfo b = Assert.Single(RackAnalyzer.Analyze([Host("a", ".XXmm")], BinWidthNs, Defaults).Bursts);

        Assert.Equal((1, 2, 2 * FullBin), (b.StartBin, b.LengthBins, b.Bytes));
    }

    [Fact]
    public void Analyze_BinsNoHostCovered_StayOutOfTheContentionDistribution()
    {
        RackAnalysis r = RackAnalyzer.Analyze([Host("a", ".Xmmm"), Host("b", "..Xmm")], BinWidthNs, Defaults);

        Assert.Equal([0, 1, 1, 0, 0], r.Contention);
        Assert.Equal([(0, 1), (1, 2)], r.ContentionLevels.Select(l => (l.Level, l.Bins)));
    }

    [Fact]
    public void Analyze_EventMembers_AreHostsBurstingInAnyBinAndBytesCoverEveryEventBin()
    {
        // a dips to 0.4 in bin 2 while b and c keep the event going: a is a member and its bin-2 bytes count.
        // d never bursts: it is no member, but its bytes count in the rack's ingress peak.
        HostSeries[] rack =
        [
            Host("a", ".XlX."),
            Host("b", ".XXX."),
            Host("c", "..X.."),
            Host("d", ".lll."),
        ];
        rack[2].IngressBytes[0] = 5; // outside the event: not counted

        RackAnalysis r = RackAnalyzer.Analyze(rack, BinWidthNs, Defaults);

        Assert.Equal([0, 2, 2, 2, 0], r.Contention);
        SyncEventInfo e = Assert.Single(r.Events);
        Assert.Equal((1, 3, 2), (e.StartBin, e.LengthBins, e.PeakContention));
        Assert.Equal(["a", "b", "c"], e.Hosts);
        Assert.Equal(6 * FullBin + FullBin * 4 / 10, e.Bytes);
        double peakBytes = 2 * FullBin + 2 * (FullBin * 4 / 10);
        Assert.Equal(peakBytes * 8 / 1e-3, e.PeakRackIngressBitsPerSecond, 3);
    }

    [Fact]
    public void Analyze_HostWithTwoBurstsInsideOneEvent_IsListedOnce()
    {
        RackAnalysis r = RackAnalyzer.Analyze(
            [Host("a", "XX.XX"), Host("b", "XXXXX"), Host("c", "..X..")], BinWidthNs, Defaults);

        SyncEventInfo e = Assert.Single(r.Events);
        Assert.Equal((0, 5), (e.StartBin, e.LengthBins));
        Assert.Equal(["a", "b", "c"], e.Hosts);
        Assert.Equal(4 * FullBin + 5 * FullBin + FullBin, e.Bytes);
    }

    [Fact]
    public void Analyze_GapInContention_SplitsIntoTwoEvents()
    {
        RackAnalysis r = RackAnalyzer.Analyze([Host("a", "XX.XX"), Host("b", "XX.XX")], BinWidthNs, Defaults);

        Assert.Equal([(0, 2), (3, 2)], r.Events.Select(e => (e.StartBin, e.LengthBins)));
    }

    [Fact]
    public void Analyze_KOfThree_OnlyBinsWithThreeHostsMakeTheEvent()
    {
        HostSeries[] rack = [Host("a", "XXXX."), Host("b", "XXXX."), Host("c", "..X..")];

        RackAnalysis r = RackAnalyzer.Analyze(rack, BinWidthNs, new AnalysisOptions(EventMinHosts: 3));

        SyncEventInfo e = Assert.Single(r.Events);
        Assert.Equal((2, 1, 3), (e.StartBin, e.LengthBins, e.PeakContention));
        Assert.Equal(3, r.EventMinHosts);
    }

    [Fact]
    public void Analyze_JointView_CountsBurstsWithCeAndRetransmitsPerContentionLevel()
    {
        // Burst rows count each burst at the most other hosts it met. Level 0: a alone, with CE. Level 1: b and c
        // together; b has retransmits. Level 2: d, e, f, none marked: here more contention came with less loss,
        // and that is what is reported. Bin rows count bins by hosts bursting in them (level 3: bin 7).
        HostSeries[] rack =
        [
            Host("a", "XX........", ceBytesPerBurstBin: 10),
            Host("b", "...XX.....", retransmitBytesPerBurstBin: 3),
            Host("c", "...XX....."),
            Host("d", "......XX.."),
            Host("e", "......XX.."),
            Host("f", ".......X.."),
        ];

        RackAnalysis r = RackAnalyzer.Analyze(rack, BinWidthNs, Defaults);

        Assert.Equal(
            [
                new ContentionLevelInfo(0, 4, 1, 1, 0, 1.0, 0.0),
                new ContentionLevelInfo(1, 2, 2, 0, 1, 0.0, 0.5),
                new ContentionLevelInfo(2, 3, 3, 0, 0, 0.0, 0.0),
                new ContentionLevelInfo(3, 1, 0, 0, 0, 0.0, 0.0),
            ],
            r.ContentionLevels);
    }

    [Fact]
    public void Analyze_NoBurstAnywhere_OneLevelZeroRowWithEveryBin()
    {
        RackAnalysis r = RackAnalyzer.Analyze([Host("a", "...."), Host("b", ".l..")], BinWidthNs, Defaults);

        Assert.Empty(r.Bursts);
        Assert.Empty(r.Events);
        Assert.Equal([new ContentionLevelInfo(0, 4, 0, 0, 0, 0, 0)], r.ContentionLevels);
    }

    [Fact]
    public void Analyze_NoHosts_EmptyAnalysis()
    {
        RackAnalysis r = RackAnalyzer.Analyze([], BinWidthNs, Defaults);

        Assert.Equal(0, r.Bins);
        Assert.Empty(r.Contention);
        Assert.Empty(r.Bursts);
        Assert.Empty(r.Events);
    }

    [Fact]
    public void Analyze_ClockErrorAboveHalfABinOrUnknown_ListedAsUntrusted()
    {
        HostSeries[] rack =
        [
            Host("exactly-half", "..", clockErrorNs: BinWidthNs / 2),
            Host("just-above", "..", clockErrorNs: BinWidthNs / 2 + 1),
            Host("unknown", "..", clockErrorNs: -1),
            Host("fine", "..", clockErrorNs: 20_000),
            Host("huge", "..", clockErrorNs: long.MaxValue),
        ];

        RackAnalysis r = RackAnalyzer.Analyze(rack, BinWidthNs, Defaults);

        Assert.Equal(["huge", "just-above", "unknown"], r.UntrustedAlignmentHosts);
    }

    [Fact]
    public void Analyze_EchoesParameters()
    {
        RackAnalysis r = RackAnalyzer.Analyze([Host("a", "...")], BinWidthNs, new AnalysisOptions(0.7, 4));

        Assert.Equal((0.7, 4, 3, BinWidthNs), (r.BurstThreshold, r.EventMinHosts, r.Bins, r.BinWidthNs));
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-0.1)]
    [InlineData(1.0001)]
    [InlineData(double.NaN)]
    public void Analyze_ThresholdOutsideZeroToOne_Throws(double theta)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(
            () => RackAnalyzer.Analyze([Host("a", "X")], BinWidthNs, new AnalysisOptions(theta)));
        Assert.Equal("BurstThreshold", e.ParamName);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(0)]
    [InlineData(-3)]
    public void Analyze_EventMinHostsBelowTwo_Throws(int k)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(
            () => RackAnalyzer.Analyze([Host("a", "X")], BinWidthNs, new AnalysisOptions(EventMinHosts: k)));
        Assert.Equal("EventMinHosts", e.ParamName);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(-1.0)]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    public void Analyze_HostWithoutLinkSpeed_ThrowsNamingTheHost(double speed)
    {
        HostSeries bad = Host("rack1-host7", "X") with { LinkSpeedBitsPerSecond = speed };

        var e = Assert.Throws<ArgumentException>(() => RackAnalyzer.Analyze([Host("a", "X"), bad], BinWidthNs, Defaults));
        Assert.Contains("rack1-host7", e.Message);
    }

    [Fact]
    public void Analyze_SeriesOfDifferentLengths_ThrowsNamingTheHost()
    {
        var e = Assert.Throws<ArgumentException>(
            () => RackAnalyzer.Analyze([Host("a", "XX"), Host("short", "X")], BinWidthNs, Defaults));
        Assert.Contains("short", e.Message);
    }

    [Fact]
    public void Analyze_OneSeriesOfAHostShorter_ThrowsNamingTheField()
    {
        HostSeries bad = Host("a", "XX") with { IngressCeBytes = new ulong[1] };

        var e = Assert.Throws<ArgumentException>(() => RackAnalyzer.Analyze([bad], BinWidthNs, Defaults));
        Assert.Contains("IngressCeBytes", e.Message);
    }

    [Fact]
    public void Analyze_DuplicateHost_Throws()
    {
        var e = Assert.Throws<ArgumentException>(
            () => RackAnalyzer.Analyze([Host("a", "X"), Host("a", ".")], BinWidthNs, Defaults));
        Assert.Contains("'a'", e.Message);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(3)]
    public void Analyze_BinsCoveredOutsideSeries_Throws(int covered)
    {
        HostSeries bad = Host("a", "XX") with { BinsCovered = covered };

        Assert.Throws<ArgumentException>(() => RackAnalyzer.Analyze([bad], BinWidthNs, Defaults));
    }

    [Fact]
    public void Analyze_NonPositiveBinWidth_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => RackAnalyzer.Analyze([Host("a", "X")], 0, Defaults));
    }
}
