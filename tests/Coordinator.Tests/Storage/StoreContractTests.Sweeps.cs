using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Storage;

namespace Millisampler.Coordinator.Tests.Storage;

public abstract partial class StoreContractTests
{
    private static readonly long HourNs = 3_600_000_000_000;

    private static Sweep NewSweep(string name) => new()
    {
        Definition = new SweepDefinition
        {
            Name = name,
            Racks = new SweepRacks { Pattern = "pod1-*" },
            Widths = { new SweepWidth { BinWidthNs = 100_000, Bins = 2000 } },
            PeriodNs = HourNs,
        },
        CreatedAtUnixNs = 5,
    };

    private SweepSummary Summary(string id, string rack, long width, long start, double contended, double lossy, string sweep = "s") => new()
    {
        CaptureId = id,
        Sweep = sweep,
        Rack = rack,
        BinWidthNs = width,
        StartUnixNs = start,
        BurstsPerHostSecond = contended * 100,
        MeanContention = contended * 4,
        ContendedBinShare = contended,
        LossyContendedBinShare = lossy,
        CeFraction = lossy / 2,
        RetransmitFraction = lossy / 4,
        MaxRackIngressFraction = contended * 2,
        SyncEvents = 3,
    };

    [Fact]
    public async Task Sweeps_CreateListGetPauseDelete()
    {
        SqlStore store = Open();
        Assert.True(await store.CreateSweepAsync(NewSweep("b"), default));
        Assert.True(await store.CreateSweepAsync(NewSweep("a"), default));
        Assert.False(await store.CreateSweepAsync(NewSweep("a"), default));

        Assert.Equal(["a", "b"], (await store.ListSweepsAsync(default)).Select(s => s.Definition.Name));
        Assert.Equal(NewSweep("a"), await store.GetSweepAsync("a", default));
        Sweep? paused = await store.SetPausedAsync("a", true, default);
        Assert.True(paused!.Paused);
        Assert.Equal(NowNs, paused.UpdatedAtUnixNs);
        Assert.True((await store.GetSweepAsync("a", default))!.Paused);
        Assert.Null(await store.SetPausedAsync("zz", true, default));

        Assert.True(await store.ClaimPeriodAsync("a", "r1", 100_000, 3, default));
        Assert.True(await store.DeleteSweepAsync("a", default));
        Assert.False(await store.DeleteSweepAsync("a", default));
        Assert.Null(await store.GetSweepAsync("a", default));
        Assert.Empty(await store.GetProgressAsync("a", default));
    }

    [Fact]
    public async Task ClaimPeriod_OncePerPeriod_NeverBackwards_AcrossCoordinators()
    {
        SqlStore a = Open(coordinatorId: "c-a");
        SqlStore b = Open(coordinatorId: "c-b");

        Assert.True(await a.ClaimPeriodAsync("s", "r1", 1_000_000, 10, default));
        Assert.False(await b.ClaimPeriodAsync("s", "r1", 1_000_000, 10, default));
        Assert.False(await b.ClaimPeriodAsync("s", "r1", 1_000_000, 9, default));
        Assert.True(await b.ClaimPeriodAsync("s", "r1", 10_000_000, 10, default));
        Assert.True(await b.ClaimPeriodAsync("s", "r1", 1_000_000, 11, default));

        Assert.Equal(
            [new SweepSlotProgress("r1", 1_000_000, 11, NowNs), new SweepSlotProgress("r1", 10_000_000, 10, NowNs)],
            await a.GetProgressAsync("s", default));
    }

    [Fact]
    public async Task Aggregate_PerRackWidthAndBucket_ExactMeans()
    {
        SqlStore store = Open();
        long t = NowNs - (2 * HourNs);
        long h0 = t / HourNs * HourNs;
        await store.SaveSummaryAsync(Summary("1", "r1", 1_000_000, h0 + 10, 0.25, 0.0), default);
        await store.SaveSummaryAsync(Summary("2", "r1", 1_000_000, h0 + 20, 0.75, 0.5), default);
        await store.SaveSummaryAsync(Summary("3", "r1", 1_000_000, h0 + HourNs, 0.5, 0.25), default);
        await store.SaveSummaryAsync(Summary("4", "r1", 10_000_000, h0 + 30, 0.125, 0.125), default);
        await store.SaveSummaryAsync(Summary("5", "r2", 1_000_000, h0 + 40, 1.0, 0.0), default);
        await store.SaveSummaryAsync(Summary("6", "r2", 1_000_000, h0 + 50, 0.0, 0.0, sweep: "other"), default);
        // Replacing a summary (same capture) does not count it twice.
        await store.SaveSummaryAsync(Summary("5", "r2", 1_000_000, h0 + 40, 1.0, 0.0), default);

        IReadOnlyList<TrendRow> hourly = await store.AggregateAsync(new SummaryFilter("s", "", 0, h0, h0 + (2 * HourNs)), HourNs, true, default);
        Assert.Equal(
            [("r1", 1_000_000L, h0, 2u, 0.5, 0.25), ("r1", 1_000_000L, h0 + HourNs, 1u, 0.5, 0.25), ("r1", 10_000_000L, h0, 1u, 0.125, 0.125), ("r2", 1_000_000L, h0, 1u, 1.0, 0.0)],
            hourly.Select(r => (r.Rack, r.BinWidthNs, r.BucketStartUnixNs, r.Captures, r.ContendedBinShare, r.LossyContendedBinShare)));
        TrendRow first = hourly[0];
        Assert.Equal(50, first.BurstsPerHostSecond);
        Assert.Equal(2, first.MeanContention);
        Assert.Equal(0.125, first.CeFraction);
        Assert.Equal(0.0625, first.RetransmitFraction);
        Assert.Equal(1.5, first.MaxRackIngressFraction);
        Assert.Equal(6u, first.SyncEvents);

        IReadOnlyList<TrendRow> perRack = await store.AggregateAsync(new SummaryFilter("", "", 0, h0, h0 + HourNs), 0, false, default);
        Assert.Equal([("r1", 0L, 0L, 3u), ("r2", 0L, 0L, 2u)], perRack.Select(r => (r.Rack, r.BinWidthNs, r.BucketStartUnixNs, r.Captures)));
        Assert.Equal((0.25 + 0.75 + 0.125) / 3, perRack[0].ContendedBinShare, 12);

        IReadOnlyList<TrendRow> oneRackOneWidth = await store.AggregateAsync(new SummaryFilter("", "r1", 10_000_000, 0, long.MaxValue), 0, true, default);
        Assert.Equal(0.125, Assert.Single(oneRackOneWidth).ContendedBinShare);
    }

    [Fact]
    public async Task Summaries_KeptLongerThanCaptures_PurgedAfterTheirOwnRetention()
    {
        SqlStore store = Open(retentionDays: 1, summaryRetentionDays: 10);
        Capture c = NewCapture("c", "r1");
        await store.InsertAsync(c, default);
        await store.SaveSummaryAsync(Summary("c", "r1", 1_000_000, NowNs, 0.5, 0.5), default);
        Time.Advance(TimeSpan.FromDays(5));
        await store.InsertAsync(NewCapture("c2", "r1"), default);
        await store.SaveResultAsync(NewCapture("c2", "r1"), [], default);

        Assert.Null(await store.GetAsync("c", false, default));
        Assert.Single(await store.AggregateAsync(new SummaryFilter("", "", 0, 0, long.MaxValue), 0, true, default));

        Time.Advance(TimeSpan.FromDays(6));
        await store.SaveSummaryAsync(Summary("late", "r2", 1_000_000, NowNs, 0.5, 0.5), default);
        Assert.Equal(["r2"], (await store.AggregateAsync(new SummaryFilter("", "", 0, 0, long.MaxValue), 0, true, default)).Select(r => r.Rack));
    }
}
