using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Membership;
using Millisampler.Coordinator.Storage;
using Millisampler.Coordinator.Tests.Infrastructure;

namespace Millisampler.Coordinator.Tests.Storage;

/// <summary>
/// The contract every store implementation keeps: the same tests run against <see cref="SqliteStore"/> and against
/// <see cref="PostgresStore"/> on a real PostgreSQL server.
/// </summary>
public abstract partial class StoreContractTests : IAsyncLifetime
{
    private readonly List<SqlStore> _opened = [];

    protected FakeTimeProvider Time { get; } = new(new DateTimeOffset(2025, 3, 1, 0, 0, 0, TimeSpan.Zero));

    /// <summary>A store on this test's database (the same database on every call), as coordinator <paramref name="coordinatorId"/>.</summary>
    internal SqlStore Open(int retentionDays = 30, string coordinatorId = "c-a", int summaryRetentionDays = 400)
    {
        SqlStore store = Create(new StorageOptions { RetentionDays = retentionDays, SummaryRetentionDays = summaryRetentionDays },
            Options.Create(new MembershipOptions { CoordinatorId = coordinatorId }));
        _opened.Add(store);
        return store;
    }

    internal abstract SqlStore Create(StorageOptions options, IOptions<MembershipOptions> membership);

    public abstract Task InitializeAsync();

    public virtual Task DisposeAsync()
    {
        foreach (SqlStore s in _opened)
        {
            s.Dispose();
        }

        return Task.CompletedTask;
    }

    private long NowNs => Time.UnixNowNs();

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
        SqlStore store = Open();
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
    public async Task SaveResult_Twice_RunsReplacedNotDuplicated()
    {
        SqlStore store = Open();
        Capture c = NewCapture("c1", "r1");
        await store.InsertAsync(c, default);
        await store.SaveResultAsync(c, [new Run { Host = "h1", Bins = 1 }], default);
        await store.SaveResultAsync(c, [new Run { Host = "h1", Bins = 2 }, new Run { Host = "h0", Bins = 3 }], default);

        Assert.Equal([("h0", 3u), ("h1", 2u)], (await store.GetRunsAsync("c1", [], default)).Select(r => (r.Host, r.Bins)));
    }

    [Fact]
    public async Task Update_UnknownCapture_Throws()
    {
        SqlStore store = Open();
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.UpdateAsync(NewCapture("ghost", "r1"), default));
    }

    [Fact]
    public async Task List_ByRackAndTime_NewestFirstWithoutAnalysis()
    {
        SqlStore store = Open();
        for (int i = 0; i < 4; i++)
        {
            Capture c = NewCapture($"c{i}", i % 2 == 0 ? "r1" : "r2");
            c.Analysis = new CaptureAnalysis { BurstThreshold = 0.5 };
            await store.InsertAsync(c, default);
            await store.SaveResultAsync(c, [], default);
            Time.Advance(TimeSpan.FromMinutes(1));
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
        SqlStore store = Open();
        await store.InsertAsync(NewCapture("running", "r1", CaptureState.Running), default);
        Capture done = NewCapture("done", "r1");
        await store.InsertAsync(done, default);
        done.State = CaptureState.Analysed;
        await store.SaveResultAsync(done, [], default);

        SqlStore reopened = Open();
        await reopened.EnsureInitializedAsync(default);

        Assert.Equal(1, reopened.InterruptedAtStart);
        Capture running = (await reopened.GetAsync("running", true, default))!;
        Assert.Equal(CaptureState.Failed, running.State);
        Assert.Contains("coordinator stopped", running.Detail);
        Assert.Equal(HostOutcomeKind.HostOutcomeFailed, running.Hosts[0].Outcome);
        Assert.Equal(CaptureState.Analysed, (await reopened.GetAsync("done", true, default))!.State);
    }

    [Fact]
    public async Task Reopen_UnfinishedCapture_OwesPinReleasesForItsScheduledHostsOnly()
    {
        SqlStore store = Open();
        Capture running = NewCapture("killed", "r1", CaptureState.Running);
        running.Hosts.Add(new HostOutcome { Host = "h2", Outcome = HostOutcomeKind.HostOutcomeRefused, Reason = "busy" });
        running.Hosts.Add(new HostOutcome { Host = "h3", Outcome = HostOutcomeKind.HostOutcomePending });
        await store.InsertAsync(running, default);
        Assert.Empty(await store.ListPinReleasesAsync(100, default));

        // A coordinator killed here: the next start of the same coordinator finds the capture unfinished.
        SqlStore reopened = Open();
        await reopened.EnsureInitializedAsync(default);

        Assert.Equal(
            [("killed", "h1"), ("killed", "h3")],
            (await reopened.ListPinReleasesAsync(100, default)).Select(r => (r.RunId, r.Host)).Order());
        Assert.Empty(await Open(coordinatorId: "c-b").ListPinReleasesAsync(100, default));

        await reopened.RemovePinReleaseAsync("killed", "h1", default);
        SqlStore again = Open();
        Assert.Equal([("killed", "h3")], (await again.ListPinReleasesAsync(100, default)).Select(r => (r.RunId, r.Host)));
    }

    [Fact]
    public async Task AddPinReleases_Twice_KeptOnceOldestFirst()
    {
        SqlStore store = Open();
        await store.AddPinReleasesAsync("run-b", ["h1", "h2"], default);
        Time.Advance(TimeSpan.FromSeconds(1));
        await store.AddPinReleasesAsync("run-a", ["h1"], default);
        await store.AddPinReleasesAsync("run-b", ["h2"], default);

        Assert.Equal(
            [("run-b", "h1"), ("run-b", "h2"), ("run-a", "h1")],
            (await store.ListPinReleasesAsync(100, default)).Select(r => (r.RunId, r.Host)));
        Assert.Single(await store.ListPinReleasesAsync(1, default));
    }

    [Fact]
    public async Task Reopen_AnotherCoordinatorsUnfinishedCapture_Untouched()
    {
        SqlStore a = Open(coordinatorId: "c-a");
        SqlStore b = Open(coordinatorId: "c-b");
        await a.InsertAsync(NewCapture("of-a", "r1", CaptureState.Running), default);
        await b.InsertAsync(NewCapture("of-b", "r2", CaptureState.Running), default);

        SqlStore a2 = Open(coordinatorId: "c-a");
        await a2.EnsureInitializedAsync(default);

        Assert.Equal(1, a2.InterruptedAtStart);
        Assert.Equal(CaptureState.Failed, (await a2.GetAsync("of-a", false, default))!.State);
        Assert.Equal(CaptureState.Running, (await a2.GetAsync("of-b", false, default))!.State);
    }

    [Fact]
    public async Task SaveResult_CapturesOlderThanRetention_DeletedWithTheirRuns()
    {
        SqlStore store = Open(retentionDays: 1);
        Capture old = NewCapture("old", "r1");
        await store.InsertAsync(old, default);
        await store.SaveResultAsync(old, [new Run { Host = "h1" }], default);
        Time.Advance(TimeSpan.FromDays(2));
        Capture fresh = NewCapture("new", "r1");
        await store.InsertAsync(fresh, default);
        await store.SaveResultAsync(fresh, [], default);

        Assert.Null(await store.GetAsync("old", true, default));
        Assert.Empty(await store.GetRunsAsync("old", [], default));
        Assert.NotNull(await store.GetAsync("new", true, default));
    }

    [Fact]
    public async Task Lease_OneHolderAtATime_RenewedByHolder_TakenOverAfterExpiry()
    {
        SqlStore a = Open(coordinatorId: "c-a");
        SqlStore b = Open(coordinatorId: "c-b");
        TimeSpan ttl = TimeSpan.FromSeconds(30);

        Assert.True(await a.TryAcquireLeaseAsync("sweep/s1/r1", "c-a", ttl, default));
        Assert.False(await b.TryAcquireLeaseAsync("sweep/s1/r1", "c-b", ttl, default));
        Assert.True(await b.TryAcquireLeaseAsync("sweep/s1/r2", "c-b", ttl, default));
        Time.Advance(TimeSpan.FromSeconds(20));
        Assert.True(await a.TryAcquireLeaseAsync("sweep/s1/r1", "c-a", ttl, default));
        Time.Advance(TimeSpan.FromSeconds(20));
        Assert.False(await b.TryAcquireLeaseAsync("sweep/s1/r1", "c-b", ttl, default));
        Assert.Equal("c-a", await b.LeaseHolderAsync("sweep/s1/r1", default));

        Time.Advance(TimeSpan.FromSeconds(11));
        Assert.Null(await b.LeaseHolderAsync("sweep/s1/r1", default));
        Assert.True(await b.TryAcquireLeaseAsync("sweep/s1/r1", "c-b", ttl, default));
        Assert.False(await a.TryAcquireLeaseAsync("sweep/s1/r1", "c-a", ttl, default));
        Assert.Equal("c-b", await a.LeaseHolderAsync("sweep/s1/r1", default));
    }

    [Fact]
    public async Task Lease_Released_FreeAtOnce_OnlyByItsHolder()
    {
        SqlStore a = Open(coordinatorId: "c-a");
        SqlStore b = Open(coordinatorId: "c-b");
        TimeSpan ttl = TimeSpan.FromMinutes(5);
        Assert.True(await a.TryAcquireLeaseAsync("l", "c-a", ttl, default));

        await b.ReleaseLeaseAsync("l", "c-b", default);
        Assert.Equal("c-a", await b.LeaseHolderAsync("l", default));
        await a.ReleaseLeaseAsync("l", "c-a", default);
        Assert.True(await b.TryAcquireLeaseAsync("l", "c-b", ttl, default));
    }

    [Fact]
    public async Task Lease_ManyContendersAtOnce_ExactlyOneWins()
    {
        SqlStore[] stores = [.. Enumerable.Range(0, 8).Select(i => Open(coordinatorId: $"c{i}"))];
        foreach (SqlStore s in stores)
        {
            await s.EnsureInitializedAsync(default);
        }

        bool[] won = await Task.WhenAll(stores.Select((s, i) => s.TryAcquireLeaseAsync("contended", $"c{i}", TimeSpan.FromMinutes(1), default)));

        Assert.Equal(1, won.Count(w => w));
        Assert.Equal($"c{Array.IndexOf(won, true)}", await stores[0].LeaseHolderAsync("contended", default));
    }
}

public sealed class SqliteStoreContractTests : StoreContractTests
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"capture-store-{Guid.NewGuid():N}");

    internal override SqlStore Create(StorageOptions options, IOptions<MembershipOptions> membership)
    {
        options.DatabasePath = Path.Combine(_dir, "sub", "c.db");
        return new SqliteStore(Options.Create(options), membership, Time, NullLogger<SqliteStore>.Instance);
    }

    public override Task InitializeAsync() => Task.CompletedTask;

    [Fact]
    public async Task Open_DatabaseLeftInWalMode_RollbackJournalNoSharedMemoryIndex()
    {
        // An older coordinator left the file in WAL mode, with a row in it.
        string path = Path.Combine(_dir, "sub", "c.db");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        string cs = new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString();
        using (var old = new SqliteConnection(cs))
        {
            old.Open();
            using var cmd = old.CreateCommand();
            cmd.CommandText = "PRAGMA journal_mode=WAL; CREATE TABLE older (a INTEGER); INSERT INTO older VALUES (7);";
            cmd.ExecuteNonQuery();
        }

        SqlStore store = Open();
        await store.CheckWritableAsync(default);

        using var check = new SqliteConnection(cs);
        check.Open();
        using var mode = check.CreateCommand();
        mode.CommandText = "PRAGMA journal_mode;";
        Assert.Equal("delete", mode.ExecuteScalar() as string);
        mode.CommandText = "SELECT a FROM older;";
        Assert.Equal(7L, mode.ExecuteScalar());
        Assert.False(File.Exists(path + "-shm"), "a -shm file means SQLite maps a shared index (WAL), which faults with SIGBUS when the file system refuses writes to it");
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

[Collection(PostgresCollection.Name)]
public sealed class PostgresStoreContractTests : StoreContractTests
{
    private readonly PostgresServer _server;
    private string _connectionString = "";

    public PostgresStoreContractTests(PostgresServer server) => _server = server;

    internal override SqlStore Create(StorageOptions options, IOptions<MembershipOptions> membership)
    {
        options.Provider = StorageProvider.Postgres;
        options.ConnectionString = _connectionString;
        return new PostgresStore(Options.Create(options), membership, Time, NullLogger<PostgresStore>.Instance);
    }

    public override async Task InitializeAsync() => _connectionString = await _server.CreateDatabaseAsync();
}
