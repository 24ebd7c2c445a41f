using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Membership;
using Millisampler.Coordinator.Storage;
using Millisampler.Coordinator.Sweeps;
using Millisampler.Coordinator.Tests.Infrastructure;

namespace Millisampler.Coordinator.Tests.Sweeps;

/// <summary>A coordinator's captures as the scheduler sees them: racks, busy flags, and captures that end when told.</summary>
internal sealed class FakeSweepCaptures : ISweepCaptures
{
    private readonly Dictionary<string, (PlannedStart Start, TaskCompletionSource<SweepSummary?> Done)> _running = [];

    public List<string> KnownRacks { get; } = [];

    public HashSet<string> BusyRacks { get; } = [];

    public List<PlannedStart> Started { get; } = [];

    public IReadOnlyList<string> Racks() => KnownRacks;

    public bool IsBusy(string rack) => BusyRacks.Contains(rack);

    public Task<string?> StartAsync(PlannedStart start, CancellationToken cancellationToken)
    {
        lock (_running)
        {
            Started.Add(start);
            string id = $"{start.Sweep}/{start.Rack}/{start.BinWidthNs}/{start.Period}";
            _running[id] = (start, new TaskCompletionSource<SweepSummary?>(TaskCreationOptions.RunContinuationsAsynchronously));
            return Task.FromResult<string?>(id);
        }
    }

    public Task<SweepSummary?> CompleteAsync(string captureId, PlannedStart start, CancellationToken cancellationToken)
    {
        lock (_running)
        {
            return _running[captureId].Done.Task;
        }
    }

    /// <summary>Ends every running capture with a summary.</summary>
    public void FinishAll()
    {
        lock (_running)
        {
            foreach ((string id, (PlannedStart s, TaskCompletionSource<SweepSummary?> done)) in _running)
            {
                done.TrySetResult(new SweepSummary { CaptureId = id, Sweep = s.Sweep, Rack = s.Rack, BinWidthNs = s.BinWidthNs, StartUnixNs = TimeNs.FromUnix(s.DueAt) });
            }

            _running.Clear();
        }
    }
}

/// <summary>The scheduler on a store, a fake clock and fake captures; run against SQLite and a real PostgreSQL.</summary>
public abstract class SweepSchedulerTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2025, 3, 3, 0, 0, 0, TimeSpan.Zero);
    private readonly List<SqlStore> _stores = [];

    protected FakeTimeProvider Time { get; } = new(T0);

    internal abstract SqlStore CreateStore(string coordinatorId);

    public abstract Task InitializeAsync();

    public virtual Task DisposeAsync()
    {
        foreach (SqlStore s in _stores)
        {
            s.Dispose();
        }

        return Task.CompletedTask;
    }

    private (SweepScheduler Scheduler, FakeSweepCaptures Captures, SqlStore Store) Coordinator(string id, params string[] racks)
    {
        SqlStore store = CreateStore(id);
        _stores.Add(store);
        var captures = new FakeSweepCaptures();
        captures.KnownRacks.AddRange(racks);
        return (new SweepScheduler(store, store, captures, Time, id, TimeSpan.FromMinutes(2), NullLogger.Instance), captures, store);
    }

    private static Sweep NewSweep(string name = "s", uint maxConcurrent = 10) => new()
    {
        Definition = new SweepDefinition
        {
            Name = name,
            Racks = new SweepRacks { All = true },
            Widths = { new SweepWidth { BinWidthNs = 1_000_000, Bins = 100 } },
            PeriodNs = TimeSpan.FromMinutes(10).Ticks * 100,
            Alignment = SweepAlignment.FleetSynchronized,
            MaxConcurrent = maxConcurrent,
        },
    };

    [Fact]
    public async Task Tick_StartsDueRacks_StoresSummaries_NextPeriodAgain()
    {
        (SweepScheduler scheduler, FakeSweepCaptures captures, SqlStore store) = Coordinator("c-a", "r1", "r2");
        Assert.True(await store.CreateSweepAsync(NewSweep(), default));

        SweepTickResult first = await scheduler.TickAsync(default);
        Assert.Equal(["r1", "r2"], first.Started.Select(s => s.Rack));
        Assert.Empty((await scheduler.TickAsync(default)).Started);
        captures.FinishAll();
        await scheduler.DrainAsync();
        IReadOnlyList<TrendRow> rows = await store.AggregateAsync(new SummaryFilter("", "", 0, 0, long.MaxValue), 0, true, default);
        Assert.Equal(["r1", "r2"], rows.Select(r => r.Rack));

        Time.Advance(TimeSpan.FromMinutes(5));
        Assert.Empty((await scheduler.TickAsync(default)).Started);
        Time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(2, (await scheduler.TickAsync(default)).Started.Count);
    }

    [Fact]
    public async Task Restart_PicksUpWhereItLeftOff()
    {
        (SweepScheduler before, FakeSweepCaptures c1, SqlStore store) = Coordinator("c-a", "r1", "r2");
        await store.CreateSweepAsync(NewSweep(maxConcurrent: 1), default);
        Assert.Equal(["r1"], (await before.TickAsync(default)).Started.Select(s => s.Rack));
        c1.FinishAll();
        await before.DrainAsync();

        // The same coordinator, restarted: r1 is done for this period, r2 is still due.
        (SweepScheduler after, FakeSweepCaptures c2, _) = Coordinator("c-a", "r1", "r2");
        Assert.Equal(["r2"], (await after.TickAsync(default)).Started.Select(s => s.Rack));
        c2.FinishAll();
        await after.DrainAsync();
        Assert.Empty((await after.TickAsync(default)).Started);
    }

    [Fact]
    public async Task PauseAndResume_NothingWhilePaused_ThenTheCurrentPeriod()
    {
        (SweepScheduler scheduler, FakeSweepCaptures captures, SqlStore store) = Coordinator("c-a", "r1");
        await store.CreateSweepAsync(NewSweep(), default);
        await store.SetPausedAsync("s", true, default);
        Assert.Empty((await scheduler.TickAsync(default)).Started);
        Time.Advance(TimeSpan.FromMinutes(25));
        Assert.Empty((await scheduler.TickAsync(default)).Started);

        await store.SetPausedAsync("s", false, default);
        PlannedStart s = Assert.Single((await scheduler.TickAsync(default)).Started);
        Assert.Equal(SweepPlanner.CurrentPeriod(NewSweep().Definition, "r1", 0, TimeNs.FromUnix(Time.GetUtcNow())), s.Period);
        captures.FinishAll();
        await scheduler.DrainAsync();
    }

    [Fact]
    public async Task BusyRack_Yields_TakenWhenFree()
    {
        (SweepScheduler scheduler, FakeSweepCaptures captures, SqlStore store) = Coordinator("c-a", "r1");
        await store.CreateSweepAsync(NewSweep(), default);
        captures.BusyRacks.Add("r1");
        SweepTickResult busy = await scheduler.TickAsync(default);
        Assert.Empty(busy.Started);
        Assert.Single(busy.SkippedBusy);

        captures.BusyRacks.Clear();
        Time.Advance(TimeSpan.FromSeconds(30));
        Assert.Single((await scheduler.TickAsync(default)).Started);
        captures.FinishAll();
        await scheduler.DrainAsync();
    }

    [Fact]
    public async Task TwoCoordinators_OneLeaderPerRack_HandOverWhenItStops()
    {
        (SweepScheduler a, FakeSweepCaptures ca, SqlStore store) = Coordinator("c-a", "r1", "r2");
        (SweepScheduler b, FakeSweepCaptures cb, _) = Coordinator("c-b", "r1", "r2");
        await store.CreateSweepAsync(NewSweep(), default);

        SweepTickResult ta = await a.TickAsync(default);
        SweepTickResult tb = await b.TickAsync(default);
        Assert.Equal(["r1", "r2"], ta.Started.Select(s => s.Rack));
        Assert.Empty(tb.Started);
        Assert.Equal(["r1", "r2"], tb.RacksLeasedElsewhere);
        ca.FinishAll();
        await a.DrainAsync();

        // The leader stops cleanly: its leases are released, the other takes over at the next period.
        await a.ReleaseAllAsync(default);
        Time.Advance(TimeSpan.FromMinutes(10));
        Assert.Equal(["r1", "r2"], (await b.TickAsync(default)).Started.Select(s => s.Rack));
        Assert.Equal("c-b", await store.LeaseHolderAsync(SweepScheduler.LeaseName("s", "r1"), default));
        cb.FinishAll();
        await b.DrainAsync();
    }

    [Fact]
    public async Task TwoCoordinators_LeaderCrashes_TakenOverAfterLeaseExpiry()
    {
        (SweepScheduler a, FakeSweepCaptures ca, SqlStore store) = Coordinator("c-a", "r1");
        (SweepScheduler b, FakeSweepCaptures cb, _) = Coordinator("c-b", "r1");
        await store.CreateSweepAsync(NewSweep(), default);
        Assert.Single((await a.TickAsync(default)).Started);
        ca.FinishAll();
        await a.DrainAsync();

        // a stops ticking without releasing (a crash). Within the lease b must not run r1.
        Time.Advance(TimeSpan.FromSeconds(90));
        Assert.Equal(["r1"], (await b.TickAsync(default)).RacksLeasedElsewhere);
        Time.Advance(TimeSpan.FromSeconds(31));
        Assert.Empty((await b.TickAsync(default)).RacksLeasedElsewhere);
        Time.Advance(TimeSpan.FromMinutes(10));
        Assert.Single((await b.TickAsync(default)).Started);
        cb.FinishAll();
        await b.DrainAsync();
        Assert.Empty(cb.Started.Intersect(ca.Started));
    }

    [Fact]
    public async Task DeletedSweep_LeasesReleased()
    {
        (SweepScheduler a, FakeSweepCaptures ca, SqlStore store) = Coordinator("c-a", "r1");
        await store.CreateSweepAsync(NewSweep(), default);
        await a.TickAsync(default);
        ca.FinishAll();
        await a.DrainAsync();
        Assert.Single(a.HeldLeases);

        await store.DeleteSweepAsync("s", default);
        await a.TickAsync(default);
        Assert.Empty(a.HeldLeases);
        Assert.Null(await store.LeaseHolderAsync(SweepScheduler.LeaseName("s", "r1"), default));
    }
}

public sealed class SqliteSweepSchedulerTests : SweepSchedulerTests
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"sweep-sched-{Guid.NewGuid():N}");

    internal override SqlStore CreateStore(string coordinatorId) =>
        new SqliteStore(Options.Create(new StorageOptions { DatabasePath = Path.Combine(_dir, "c.db") }),
            Options.Create(new MembershipOptions { CoordinatorId = coordinatorId }), Time, NullLogger<SqliteStore>.Instance);

    public override Task InitializeAsync() => Task.CompletedTask;

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
public sealed class PostgresSweepSchedulerTests(PostgresServer server) : SweepSchedulerTests
{
    private string _connectionString = "";

    internal override SqlStore CreateStore(string coordinatorId) =>
        new PostgresStore(Options.Create(new StorageOptions { Provider = StorageProvider.Postgres, ConnectionString = _connectionString }),
            Options.Create(new MembershipOptions { CoordinatorId = coordinatorId }), Time, NullLogger<PostgresStore>.Instance);

    public override async Task InitializeAsync() => _connectionString = await server.CreateDatabaseAsync();
}
