using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Storage;

namespace Millisampler.Coordinator.Tests.Storage;

public sealed class CaptureStoreTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"capture-store-{Guid.NewGuid():N}");
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 3, 1, 0, 0, 0, TimeSpan.Zero));

    private CaptureStore Open(int retentionDays = 30) =>
        new(Options.Create(new StorageOptions { DatabasePath = Path.Combine(_dir, "sub", "c.db"), RetentionDays = retentionDays }),
            _time, NullLogger<CaptureStore>.Instance);

    private long NowNs => _time.UnixNowNs();

    private Capture NewCapture(string id, string rack, CaptureState state = CaptureState.Scheduled) => new()
    {
        CaptureId = id,
        Rack = rack,
        State = state,
        RequestedAtUnixNs = NowNs,
        BinWidthNs = 1_000_000,
        Bins = 10,
        Hosts = { new HostOutcome { Host = "h1", Outcome = HostOutcomeKind.HostOutcomeScheduled } },
    };

    [Fact]
    public async Task SaveResult_ThenGet_CaptureAnalysisAndRunsRoundTrip()
    {
        using CaptureStore store = Open();
        Capture c = NewCapture("c1", "r1");
        await store.InsertAsync(c, default);
        c.State = CaptureState.Analysed;
        c.Analysis = new CaptureAnalysis { BurstThreshold = 0.5, EventMinHosts = 2, Contention = { 1, 2, 3 } };
        var run = new Run { Host = "h1", RunId = "c1", Bins = 3, BinsRecorded = 3, Series = new RunSeries { IngressBytes = { 5, 6, 7 } } };
        await store.SaveResultAsync(c, [run], default);

        Capture? got = await store.GetAsync("c1", includeAnalysis: true, default);
        Assert.Equal(c, got);
        Assert.Null((await store.GetAsync("c1", includeAnalysis: false, default))!.Analysis);
        Assert.Equal(run, Assert.Single(await store.GetRunsAsync("c1", [], default)));
        Assert.Empty(await store.GetRunsAsync("c1", ["h2"], default));
        Assert.Null(await store.GetAsync("nope", true, default));
    }

    [Fact]
    public async Task List_ByRackAndTime_NewestFirstWithoutAnalysis()
    {
        using CaptureStore store = Open();
        for (int i = 0; i < 4; i++)
        {
            Capture c = NewCapture($"c{i}", i % 2 == 0 ? "r1" : "r2");
            c.Analysis = new CaptureAnalysis { BurstThreshold = 0.5 };
            await store.InsertAsync(c, default);
            await store.SaveResultAsync(c, [], default);
            _time.Advance(TimeSpan.FromMinutes(1));
        }

        Assert.Equal(["c2", "c0"], (await store.ListAsync("r1", 0, 0, 100, default)).Select(c => c.CaptureId));
        long t1 = NowNs - (3 * 60_000_000_000L);
        Assert.Equal(["c3", "c2", "c1"], (await store.ListAsync("", t1, 0, 100, default)).Select(c => c.CaptureId));
        Assert.Equal(["c1"], (await store.ListAsync("", t1, t1 + 1, 100, default)).Select(c => c.CaptureId));
        Assert.Equal(["c3"], (await store.ListAsync("", 0, 0, 1, default)).Select(c => c.CaptureId));
        Assert.All(await store.ListAsync("", 0, 0, 100, default), c => Assert.Null(c.Analysis));
    }

    [Fact]
    public async Task Reopen_UnfinishedCaptures_MarkedFailedFinishedKept()
    {
        using (CaptureStore store = Open())
        {
            await store.InsertAsync(NewCapture("running", "r1", CaptureState.Running), default);
            Capture done = NewCapture("done", "r1");
            await store.InsertAsync(done, default);
            done.State = CaptureState.Analysed;
            await store.SaveResultAsync(done, [], default);
        }

        using CaptureStore reopened = Open();
        await reopened.EnsureInitializedAsync(default);

        Assert.Equal(1, reopened.InterruptedAtStart);
        Capture running = (await reopened.GetAsync("running", true, default))!;
        Assert.Equal(CaptureState.Failed, running.State);
        Assert.Contains("coordinator stopped", running.Detail);
        Assert.Equal(HostOutcomeKind.HostOutcomeFailed, running.Hosts[0].Outcome);
        Assert.Equal(CaptureState.Analysed, (await reopened.GetAsync("done", true, default))!.State);
    }

    [Fact]
    public async Task SaveResult_CapturesOlderThanRetention_DeletedWithTheirRuns()
    {
        using CaptureStore store = Open(retentionDays: 1);
        Capture old = NewCapture("old", "r1");
        await store.InsertAsync(old, default);
        await store.SaveResultAsync(old, [new Run { Host = "h1" }], default);
        _time.Advance(TimeSpan.FromDays(2));
        Capture fresh = NewCapture("new", "r1");
        await store.InsertAsync(fresh, default);
        await store.SaveResultAsync(fresh, [], default);

        Assert.Null(await store.GetAsync("old", true, default));
        Assert.Empty(await store.GetRunsAsync("old", [], default));
        Assert.NotNull(await store.GetAsync("new", true, default));
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
