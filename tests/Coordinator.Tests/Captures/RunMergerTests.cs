using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Captures;

namespace Millisampler.Coordinator.Tests.Captures;

public sealed class RunMergerTests
{
    private const long Start = 1_000_000_000_000;
    private const long W = 1_000_000;

    private static Run MakeRun(string host, long start, uint bins, uint recorded, long width = W, int seriesLength = -1)
    {
        var series = new RunSeries();
        int n = seriesLength < 0 ? (int)recorded : seriesLength;
        for (int i = 0; i < n; i++)
        {
            series.IngressBytes.Add((ulong)(i + 1));
            series.IngressCeBytes.Add((ulong)(10 * (i + 1)));
            series.IngressRetransmitBytes.Add((ulong)(100 * (i + 1)));
            series.IngressConnections.Add((uint)(i + 1));
        }

        return new Run { Host = host, StartTaiNs = start, BinWidthNs = width, Bins = bins, BinsRecorded = recorded, Series = series };
    }

    [Fact]
    public void Merge_RunsAtCaptureStart_MapBinForBin()
    {
        MergedCapture m = RunMerger.Merge(Start, W, 4, ["a", "b"], [MakeRun("b", Start, 4, 4), MakeRun("a", Start, 4, 4)]);

        Assert.Equal(["a", "b"], m.Hosts.Select(h => h.Host));
        MergedHost a = m.Hosts[0];
        Assert.Equal(0, a.FirstBin);
        Assert.Equal(4, a.BinsCovered);
        Assert.Equal([1UL, 2, 3, 4], a.IngressBytes);
        Assert.Equal([10UL, 20, 30, 40], a.IngressCeBytes);
        Assert.Equal([100UL, 200, 300, 400], a.IngressRetransmitBytes);
        Assert.Equal([1u, 2, 3, 4], a.IngressConnections);
        Assert.Empty(m.Rejected);
        Assert.Empty(m.Missing);
    }

    [Fact]
    public void Merge_RunStartsTwoBinsLate_PlacedByAbsoluteTimeAndNotFromStart()
    {
        MergedCapture m = RunMerger.Merge(Start, W, 5, ["a"], [MakeRun("a", Start + (2 * W), 5, 5)]);

        MergedHost a = Assert.Single(m.Hosts);
        Assert.Equal(2, a.FirstBin);
        Assert.Equal(3, a.BinsCovered);
        Assert.Equal([0UL, 0, 1, 2, 3], a.IngressBytes);
        Assert.False(a.CoversFromStart);
    }

    [Fact]
    public void Merge_RunStartsOneBinEarly_FirstRunBinDroppedRestShifted()
    {
        MergedCapture m = RunMerger.Merge(Start, W, 3, ["a"], [MakeRun("a", Start - W, 4, 4)]);

        MergedHost a = Assert.Single(m.Hosts);
        Assert.Equal(0, a.FirstBin);
        Assert.Equal(3, a.BinsCovered);
        Assert.Equal([2UL, 3, 4], a.IngressBytes);
    }

    [Fact]
    public void Merge_RunCutShort_CoversOnlyRecordedBins()
    {
        MergedCapture m = RunMerger.Merge(Start, W, 6, ["a"], [MakeRun("a", Start, 6, 2)]);

        MergedHost a = Assert.Single(m.Hosts);
        Assert.Equal(2, a.BinsCovered);
        Assert.True(a.CoversFromStart);
        Assert.Equal([1UL, 2, 0, 0, 0, 0], a.IngressBytes);
    }

    [Fact]
    public void Merge_SeriesShorterThanBinsRecorded_CoverageCappedBySeries()
    {
        MergedCapture m = RunMerger.Merge(Start, W, 6, ["a"], [MakeRun("a", Start, 6, 6, seriesLength: 3)]);

        Assert.Equal(3, Assert.Single(m.Hosts).BinsCovered);
    }

    [Fact]
    public void Merge_OptionalSeriesMissing_ReadAsZero()
    {
        Run run = MakeRun("a", Start, 2, 2);
        run.Series.IngressCeBytes.Clear();
        run.Series.IngressConnections.Clear();

        MergedHost a = Assert.Single(RunMerger.Merge(Start, W, 2, ["a"], [run]).Hosts);

        Assert.Equal([1UL, 2], a.IngressBytes);
        Assert.Equal([0UL, 0], a.IngressCeBytes);
        Assert.Equal([0u, 0], a.IngressConnections);
    }

    [Fact]
    public void Merge_HostMissing_ReportedMissingOthersMerged()
    {
        MergedCapture m = RunMerger.Merge(Start, W, 2, ["a", "b", "c"], [MakeRun("b", Start, 2, 2)]);

        Assert.Equal("b", Assert.Single(m.Hosts).Host);
        Assert.Equal(["a", "c"], m.Missing);
    }

    [Fact]
    public void Merge_RunOffGridOrOtherWidthOrStrangerOrDuplicate_RejectedWithReason()
    {
        MergedCapture m = RunMerger.Merge(Start, W, 2, ["a", "b", "c"],
        [
            MakeRun("a", Start + 500, 2, 2),
            MakeRun("b", Start, 2, 2, width: 2 * W),
            MakeRun("x", Start, 2, 2),
            MakeRun("c", Start, 2, 2),
            MakeRun("c", Start, 2, 2),
        ]);

        Assert.Equal("c", Assert.Single(m.Hosts).Host);
        Assert.Contains("not on its grid", m.Rejected.Single(r => r.Host == "a").Reason);
        Assert.Contains("bins of 2000000 ns", m.Rejected.Single(r => r.Host == "b").Reason);
        Assert.Contains("not part of the capture", m.Rejected.Single(r => r.Host == "x").Reason);
        Assert.Contains("second run", m.Rejected.Single(r => r.Host == "c").Reason);
        Assert.Empty(m.Missing);
    }

    [Fact]
    public void Merge_RunEntirelyOutsideCapture_CoversNothing()
    {
        MergedHost a = Assert.Single(RunMerger.Merge(Start, W, 2, ["a"], [MakeRun("a", Start + (10 * W), 2, 2)]).Hosts);

        Assert.Equal(0, a.BinsCovered);
        Assert.True(a.CoversFromStart);
        Assert.All(a.IngressBytes, v => Assert.Equal(0UL, v));
    }
}
