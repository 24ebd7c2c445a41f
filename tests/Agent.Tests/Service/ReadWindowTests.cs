using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Millisampler.Agent.Storage;
using Millisampler.Contracts.V1;

namespace Millisampler.Agent.Tests.Service;

/// <summary>
/// ReadWindow and the clock samples over real gRPC, with a fake engine whose ring follows the real window rule on the
/// fake clock (default ring: 4,096 bins of 1 ms, the 16 oldest never read).
/// </summary>
public sealed class ReadWindowTests : IAsyncLifetime
{
    private const long Ms = 1_000_000;
    private AgentTestHost _agent = null!;

    public async Task InitializeAsync() => _agent = await AgentTestHost.StartAsync();

    public async Task DisposeAsync() => await _agent.DisposeAsync();

    private long NowBin => _agent.Clock.NowTaiNs() / Ms;

    private ReadWindowRequest Window(string id, long firstBin, uint bins = 2000, long width = Ms) =>
        new() { RunId = id, FirstBin = firstBin, Bins = bins, BinWidthNs = width, Requester = "test-coordinator" };

    [Fact]
    public async Task ReadWindow_PastWindow_StoredAsLookbackPinnedAndReturned()
    {
        long first = NowBin - 2100;

        var run = await _agent.Client.ReadWindowAsync(Window("look-1", first));

        Assert.Equal((RunOrigin.Lookback, RunStatus.Complete, first * Ms, Ms, 2000u, 2000u),
            (run.Origin, run.Status, run.StartTaiNs, run.BinWidthNs, run.Bins, run.BinsRecorded));
        Assert.Equal((ulong)(first % 1000), run.Series.IngressPackets[0]);
        Assert.Equal((ulong)((first + 1999) % 1000), run.Series.IngressPackets[1999]);
        var store = _agent.Services.GetRequiredService<RunStore>();
        var stored = await store.TryGetAsync("look-1", default);
        Assert.NotNull(stored);
        Assert.Equal(run, stored);
        Assert.True(store.IsPinned("look-1"));
        var listed = await _agent.Client.ListRunsAsync(new ListRunsRequest());
        Assert.Contains(listed.Runs, r => r.RunId == "look-1" && r.Origin == RunOrigin.Lookback);

        // Fetched with GetRun like a coordinator run, its pin goes.
        await _agent.Client.GetRunAsync(new GetRunRequest { RunId = "look-1" });
        Assert.False(store.IsPinned("look-1"));
    }

    [Fact]
    public async Task ReadWindow_SameIdTwiceAndConcurrently_OneReadSameRun()
    {
        long first = NowBin - 500;
        var concurrent = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => _agent.Client.ReadWindowAsync(Window("look-dup", first, 100)).ResponseAsync));
        // Later the ring has moved on (the window would still be held), the stored run answers.
        await _agent.AdvanceAsync(TimeSpan.FromMilliseconds(300));
        var again = await _agent.Client.ReadWindowAsync(Window("look-dup", first, 100));

        Assert.All(concurrent, r => Assert.Equal(concurrent[0], r));
        Assert.Equal(concurrent[0], again);
        Assert.Equal(1, _agent.Engine.WindowReads);
    }

    [Fact]
    public async Task ReadWindow_SameIdOtherWindow_AlreadyExistsNamingTheFirst()
    {
        long first = NowBin - 500;
        await _agent.Client.ReadWindowAsync(Window("look-other", first, 100));

        var e = await Assert.ThrowsAsync<RpcException>(() => _agent.Client.ReadWindowAsync(Window("look-other", first + 1, 100)).ResponseAsync);

        Assert.Equal(StatusCode.AlreadyExists, e.StatusCode);
        Assert.Contains($"already read for window first_bin {first}, bins 100, bin_width_ns 1000000", e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadWindow_IdOfACoordinatorRun_AlreadyExists()
    {
        await _agent.Client.ScheduleRunAsync(_agent.Request("taken", bins: 10));

        var e = await Assert.ThrowsAsync<RpcException>(() => _agent.Client.ReadWindowAsync(Window("taken", NowBin - 500, 100)).ResponseAsync);

        Assert.Equal(StatusCode.AlreadyExists, e.StatusCode);
        Assert.Contains("'taken' is taken by coordinator run", e.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(0, _agent.Engine.WindowReads);
    }

    public static TheoryData<string, Action<ReadWindowRequest>> BadFields => new()
    {
        { "run_id", r => r.RunId = "" },
        { "run_id", r => r.RunId = "a/b" },
        { "bin_width_ns is 0; it must be positive", r => r.BinWidthNs = 0 },
        { "bins is 0", r => r.Bins = 0 },
        { "first_bin is -1; it must be >= 0", r => r.FirstBin = -1 },
        { "first_bin is 9223372036854775000", r => r.FirstBin = long.MaxValue - 807 },
        { "A look-back window has 1..4080 bins, not 4081", r => r.Bins = 4081 },
    };

    [Theory]
    [MemberData(nameof(BadFields))]
    public async Task ReadWindow_FieldOutOfRange_InvalidArgumentNamingIt(string expected, Action<ReadWindowRequest> spoil)
    {
        var request = Window("look-bad", NowBin - 4000);
        spoil(request);

        var e = await Assert.ThrowsAsync<RpcException>(() => _agent.Client.ReadWindowAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains(expected, e.Status.Detail, StringComparison.Ordinal);
        Assert.Null(await _agent.Services.GetRequiredService<RunStore>().TryGetAsync(request.RunId.Length > 0 && !request.RunId.Contains('/') ? request.RunId : "look-bad", default));
    }

    [Fact]
    public async Task ReadWindow_NotWhollyPast_FailedPrecondition()
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => _agent.Client.ReadWindowAsync(Window("look-future", NowBin - 10, 20)).ResponseAsync);

        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        Assert.Contains("not wholly past", e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadWindow_FirstBinOverwritten_FailedPreconditionNamingOldestBinHeld()
    {
        long now = NowBin;

        var e = await Assert.ThrowsAsync<RpcException>(() => _agent.Client.ReadWindowAsync(Window("look-old", now - 4090, 10)).ResponseAsync);

        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        Assert.Contains($"the oldest bin held is {now - 4096 + 16 + 1}", e.Status.Detail, StringComparison.Ordinal);
        Assert.Null(await _agent.Services.GetRequiredService<RunStore>().TryGetAsync("look-old", default));
    }

    [Fact]
    public async Task ReadWindow_NoRingOfThatWidth_FailedPrecondition()
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => _agent.Client.ReadWindowAsync(Window("look-10ms", (NowBin / 10) - 100, 10, 10 * Ms)).ResponseAsync);

        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        Assert.Contains("no look-back ring of width", e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadWindow_RecorderOff_FailedPreconditionAndNoRingInfo()
    {
        _agent.Engine.Ring = null;

        var e = await Assert.ThrowsAsync<RpcException>(() => _agent.Client.ReadWindowAsync(Window("look-off", NowBin - 500, 10)).ResponseAsync);
        var info = await _agent.Client.GetInfoAsync(new GetInfoRequest());

        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        Assert.Contains("look-back recorder is off", e.Status.Detail, StringComparison.Ordinal);
        Assert.Empty(info.LookbackRings);
    }

    [Fact]
    public async Task GetInfoAndScheduleRun_CarryRingsAndTheAgentsClockSample()
    {
        long now = _agent.Clock.NowTaiNs();

        var info = await _agent.Client.GetInfoAsync(new GetInfoRequest());
        var scheduled = await _agent.Client.ScheduleRunAsync(_agent.Request("sampled", bins: 10));

        var ring = Assert.Single(info.LookbackRings);
        Assert.Equal((Ms, 4096u), (ring.BinWidthNs, ring.DepthBins));
        // The fake clock stands still during the calls: both stamps are exactly its TAI reading.
        Assert.Equal((now, now), (info.ClockSample.ReceiveTaiNs, info.ClockSample.TransmitTaiNs));
        Assert.Equal((now, now), (scheduled.ClockSample.ReceiveTaiNs, scheduled.ClockSample.TransmitTaiNs));
    }
}
