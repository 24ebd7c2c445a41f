using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Millisampler.Agent.Sampling;
using Millisampler.Agent.Storage;
using Millisampler.Contracts.V1;

namespace Millisampler.Agent.Tests.Service;

/// <summary>AgentService over real gRPC (Kestrel on 127.0.0.1:0) with a fake engine on a fake clock.</summary>
public sealed class AgentGrpcServiceTests : IAsyncLifetime
{
    private AgentTestHost _agent = null!;

    public async Task InitializeAsync() => _agent = await AgentTestHost.StartAsync();

    public async Task DisposeAsync() => await _agent.DisposeAsync();

    [Fact]
    public async Task GetInfo_ReportsHostRackInterfacesLimitsAndClock()
    {
        var info = await _agent.Client.GetInfoAsync(new GetInfoRequest());

        Assert.Equal("test-host", info.Host);
        Assert.Equal("rack-1", info.Rack);
        var eth0 = Assert.Single(info.Interfaces);
        Assert.Equal(("eth0", 12_500_000_000UL, "config"), (eth0.Name, eth0.LinkSpeedBitsPerSecond, eth0.LinkSpeedSource));
        Assert.Equal("tcx", info.AttachMode);
        Assert.True(info.Clock.Synchronized);
        Assert.Equal(ClockSource.Tai, info.Clock.Source);
        Assert.Equal(20_000, info.Clock.MaxErrorNs);
        Assert.Equal(2u, info.CpuCount);
        Assert.Equal(2000u, info.MaxBins);
        Assert.Equal(10_000, info.MinBinWidthNs);
        Assert.Equal(1_000_000_000, info.MaxBinWidthNs);
        Assert.Equal(600_000_000_000, info.MaxLeadNs);
        Assert.False(string.IsNullOrEmpty(info.AgentVersion));
        Assert.Equal(new Uri(_agent.Address).Port, int.Parse(info.Address.Split(':')[^1]));
    }

    public static TheoryData<string, Action<ScheduleRunRequest>> BadFields => new()
    {
        { "run_id is empty", r => r.RunId = "" },
        { "run_id", r => r.RunId = new string('x', 65) },
        { "run_id", r => r.RunId = "a/b" },
        { "run_id", r => r.RunId = "bad\nid" },
        { "bin_width_ns is 999; allowed 10000..1000000000 ns", r => r.BinWidthNs = 999 },
        { "bin_width_ns is 2000000000; allowed 10000..1000000000 ns", r => r.BinWidthNs = 2_000_000_000 },
        { "bins is 0; allowed 1..2000", r => r.Bins = 0 },
        { "bins is 2001; allowed 1..2000", r => r.Bins = 2001 },
        { "start_tai_ns is 0", r => r.StartTaiNs = 0 },
        { "start_tai_ns is -5", r => r.StartTaiNs = -5 },
    };

    [Theory]
    [MemberData(nameof(BadFields))]
    public async Task ScheduleRun_FieldOutOfRange_InvalidArgumentNamingFieldAndRange(string expected, Action<ScheduleRunRequest> spoil)
    {
        var request = _agent.Request("bad-field");
        spoil(request);

        var e = await Assert.ThrowsAsync<RpcException>(() => _agent.Client.ScheduleRunAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains(expected, e.Status.Detail, StringComparison.Ordinal);
        Assert.Empty(_agent.Engine.Arms);
    }

    [Theory]
    [InlineData(-5, "already past")]
    [InlineData(10, "only 10 ms ahead; the agent needs at least 20 ms")]
    [InlineData(600_001, "at most 600000 ms allowed")]
    public async Task ScheduleRun_StartPastTooCloseOrTooFar_FailedPrecondition(long leadMs, string expected)
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => _agent.Client.ScheduleRunAsync(_agent.Request("timing", leadMs)).ResponseAsync);

        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        Assert.Contains(expected, e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ScheduleRun_ClockNotSynchronized_FailedPreconditionSayingHowToFix()
    {
        _agent.Clock.Synchronized = false;

        var e = await Assert.ThrowsAsync<RpcException>(() => _agent.Client.ScheduleRunAsync(_agent.Request("unsynced")).ResponseAsync);

        Assert.Equal(StatusCode.FailedPrecondition, e.StatusCode);
        Assert.Contains("not synchronized", e.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("Agent:RequireSynchronizedClock", e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ScheduleRun_SameIdTwice_OneRunSecondIsDuplicate()
    {
        var request = _agent.Request("twice");

        var first = await _agent.Client.ScheduleRunAsync(request);
        var second = await _agent.Client.ScheduleRunAsync(request);
        await _agent.Engine.WaitArmedAsync("twice");

        Assert.False(first.Duplicate);
        Assert.True(second.Duplicate);
        Assert.Equal(request.StartTaiNs, first.StartTaiNs);
        Assert.Equal(request.StartTaiNs, second.StartTaiNs);
        Assert.True(first.Clock.Synchronized);
        Assert.Single(_agent.Engine.Arms);
    }

    [Fact]
    public async Task ScheduleRun_SameIdAfterRunStored_StillDuplicate()
    {
        var request = _agent.Request("stored-retry", leadMs: 100, binWidthNs: 1_000_000, bins: 10);
        await _agent.Client.ScheduleRunAsync(request);
        await _agent.Engine.WaitArmedAsync("stored-retry");
        await _agent.AdvanceAsync(TimeSpan.FromMilliseconds(200));
        await _agent.Client.GetRunAsync(new GetRunRequest { RunId = "stored-retry" }, deadline: DateTime.UtcNow.AddSeconds(10));

        var again = await _agent.Client.ScheduleRunAsync(request);

        Assert.True(again.Duplicate);
        Assert.Single(_agent.Engine.Arms);
    }

    [Fact]
    public async Task ScheduleRun_SameIdOtherParameters_AlreadyExists()
    {
        var request = _agent.Request("changed");
        await _agent.Client.ScheduleRunAsync(request);
        request.Bins = 100;

        var e = await Assert.ThrowsAsync<RpcException>(() => _agent.Client.ScheduleRunAsync(request).ResponseAsync);

        Assert.Equal(StatusCode.AlreadyExists, e.StatusCode);
        Assert.Contains("run_id 'changed' was already accepted", e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ScheduleRun_OverlapsAnotherCoordinatorRun_AbortedNamingIt()
    {
        await _agent.Client.ScheduleRunAsync(_agent.Request("first", leadMs: 1000)); // 1 s .. 3 s ahead
        var overlapping = _agent.Request("second", leadMs: 2000);
        var tooClose = _agent.Request("third", leadMs: 3010); // 10 ms after "first" ends: inside the 20 ms gap
        var after = _agent.Request("fourth", leadMs: 3020, bins: 100);

        var e = await Assert.ThrowsAsync<RpcException>(() => _agent.Client.ScheduleRunAsync(overlapping).ResponseAsync);
        var e2 = await Assert.ThrowsAsync<RpcException>(() => _agent.Client.ScheduleRunAsync(tooClose).ResponseAsync);
        var ok = await _agent.Client.ScheduleRunAsync(after);

        Assert.Equal(StatusCode.Aborted, e.StatusCode);
        Assert.Contains("overlaps coordinator run 'first' (from test-coordinator", e.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(StatusCode.Aborted, e2.StatusCode);
        Assert.False(ok.Duplicate);
    }

    [Fact]
    public async Task GetRun_WaitsUntilComplete_ReturnsFullRunAndUnpins()
    {
        var request = _agent.Request("wait-for-me", leadMs: 300, binWidthNs: 1_000_000, bins: 2000);
        await _agent.Client.ScheduleRunAsync(request);
        await _agent.Engine.WaitArmedAsync("wait-for-me");
        var store = _agent.Services.GetRequiredService<RunStore>();

        var get = _agent.Client.GetRunAsync(new GetRunRequest { RunId = "wait-for-me" }, deadline: DateTime.UtcNow.AddSeconds(30)).ResponseAsync;
        await Task.Delay(100);
        Assert.False(get.IsCompleted);
        Assert.True(store.IsPinned("wait-for-me"));
        await _agent.AdvanceAsync(TimeSpan.FromMilliseconds(2400));
        var run = await get;

        Assert.Equal(RunStatus.Complete, run.Status);
        Assert.Equal(RunOrigin.Coordinator, run.Origin);
        Assert.Equal((request.StartTaiNs, 2000u, 2000u), (run.StartTaiNs, run.Bins, run.BinsRecorded));
        Assert.Equal(2000, run.Series.IngressBytes.Count);
        Assert.Equal(2000, run.Series.EgressConnections.Count);
        Assert.Equal("test-host", run.Host);
        Assert.False(store.IsPinned("wait-for-me"));
    }

    [Fact]
    public async Task ReleaseRun_WhileRecording_UnpinsAndTheStoredRunStaysUnpinnedButReadable()
    {
        var request = _agent.Request("interrupted", leadMs: 300, binWidthNs: 1_000_000, bins: 2000);
        await _agent.Client.ScheduleRunAsync(request);
        await _agent.Engine.WaitArmedAsync("interrupted");
        var store = _agent.Services.GetRequiredService<RunStore>();
        await WaitUntilAsync(() => store.IsPinned("interrupted"));

        ReleaseRunResponse released = await _agent.Client.ReleaseRunAsync(new ReleaseRunRequest { RunId = "interrupted", Requester = "restarted-coordinator" });

        Assert.True(released.Released);
        Assert.False(store.IsPinned("interrupted"));
        await _agent.AdvanceAsync(TimeSpan.FromMilliseconds(2400));
        Run run = await _agent.Client.GetRunAsync(new GetRunRequest { RunId = "interrupted" }, deadline: DateTime.UtcNow.AddSeconds(30));
        Assert.Equal(RunStatus.Complete, run.Status);
        Assert.False(store.IsPinned("interrupted"));
    }

    [Fact]
    public async Task ReleaseRun_BeforeThePinIsSet_ThePinIsNeverSet()
    {
        // Released while the run is still to start (its pin is set when it starts recording).
        ReleaseRunResponse early = await _agent.Client.ReleaseRunAsync(new ReleaseRunRequest { RunId = "released-early" });
        Assert.False(early.Released);
        await _agent.Client.ScheduleRunAsync(_agent.Request("released-early", leadMs: 300, binWidthNs: 1_000_000, bins: 100));
        await _agent.Engine.WaitArmedAsync("released-early");
        await _agent.AdvanceAsync(TimeSpan.FromMilliseconds(600));
        Run run = await _agent.Client.GetRunAsync(new GetRunRequest { RunId = "released-early" }, deadline: DateTime.UtcNow.AddSeconds(30));

        Assert.Equal(RunStatus.Complete, run.Status);
        Assert.False(_agent.Services.GetRequiredService<RunStore>().IsPinned("released-early"));
    }

    [Fact]
    public async Task ReleaseRun_BadId_InvalidArgumentUnknownIdNotReleased()
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => _agent.Client.ReleaseRunAsync(new ReleaseRunRequest { RunId = "a/b" }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);

        Assert.False((await _agent.Client.ReleaseRunAsync(new ReleaseRunRequest { RunId = "never-scheduled" })).Released);
    }

    [Fact]
    public async Task GetRun_NotCompleteBeforeDeadline_DeadlineExceeded()
    {
        await _agent.Client.ScheduleRunAsync(_agent.Request("slow"));

        var e = await Assert.ThrowsAsync<RpcException>(() =>
            _agent.Client.GetRunAsync(new GetRunRequest { RunId = "slow" }, deadline: DateTime.UtcNow.AddMilliseconds(300)).ResponseAsync);

        Assert.Equal(StatusCode.DeadlineExceeded, e.StatusCode);
        await WaitForLogAsync("GetRun for slow ended before the run was complete: deadline passed");
    }

    [Fact]
    public async Task GetRun_CallerCancels_CancelledNotDeadline()
    {
        await _agent.Client.ScheduleRunAsync(_agent.Request("abandoned"));
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        var e = await Assert.ThrowsAsync<RpcException>(() =>
            _agent.Client.GetRunAsync(new GetRunRequest { RunId = "abandoned" }, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cts.Token).ResponseAsync);

        Assert.Equal(StatusCode.Cancelled, e.StatusCode);
        await WaitForLogAsync("GetRun for abandoned ended before the run was complete: caller cancelled");
    }

    [Fact]
    public async Task GetRun_UnknownId_NotFound()
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => _agent.Client.GetRunAsync(new GetRunRequest { RunId = "nobody" }).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, e.StatusCode);
        Assert.Contains("no run 'nobody' on host 'test-host'", e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetRun_BadId_InvalidArgument()
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => _agent.Client.GetRunAsync(new GetRunRequest { RunId = "" }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
    }

    [Fact]
    public async Task GetRun_AfterRestart_ServesStoredRun()
    {
        string directory = Directory.CreateTempSubdirectory("ms-agent-test-").FullName;
        try
        {
            var request = _agent.Request("kept", bins: 10);
            await using (var first = await AgentTestHost.StartAsync(storeDirectory: directory, time: _agent.Time))
            {
                await first.Client.ScheduleRunAsync(request);
                await first.Engine.WaitArmedAsync("kept");
                await first.AdvanceAsync(TimeSpan.FromMilliseconds(400));
                await WaitUntilAsync(() => first.Services.GetRequiredService<RunStore>().Count == 1);
            }

            await using var second = await AgentTestHost.StartAsync(storeDirectory: directory, time: _agent.Time);
            var run = await second.Client.GetRunAsync(new GetRunRequest { RunId = "kept" });

            Assert.Equal(RunStatus.Complete, run.Status);
            Assert.Equal(10u, run.BinsRecorded);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task ListRuns_NewestFirst_FilteredByTimeAndWidth()
    {
        var store = _agent.Services.GetRequiredService<RunStore>();
        var identity = new HostIdentity("test-host", "rack-1", []);
        long t0 = 1_800_000_000_000_000_000;
        foreach (var (id, start, width) in new[] { ("a", t0, 1_000_000L), ("b", t0 + 10_000_000_000, 10_000_000L), ("c", t0 + 20_000_000_000, 1_000_000L) })
        {
            await store.SaveAsync(FakeRunEngine.Synthetic(new RunRequest(id, start, width, 5, RunOrigin.Schedule), identity, 5, RunStatus.Complete, new ClockState()), default);
        }

        var all = await _agent.Client.ListRunsAsync(new ListRunsRequest());
        var oneMs = await _agent.Client.ListRunsAsync(new ListRunsRequest { BinWidthNs = 1_000_000 });
        var range = await _agent.Client.ListRunsAsync(new ListRunsRequest { FromTaiNs = t0 + 1, ToTaiNs = t0 + 20_000_000_000 });
        var limited = await _agent.Client.ListRunsAsync(new ListRunsRequest { Limit = 1 });

        Assert.Equal(["c", "b", "a"], all.Runs.Select(r => r.RunId));
        Assert.Equal(["c", "a"], oneMs.Runs.Select(r => r.RunId));
        Assert.Equal(["b"], range.Runs.Select(r => r.RunId));
        Assert.Equal(["c"], limited.Runs.Select(r => r.RunId));
        Assert.Equal((RunOrigin.Schedule, 5u, RunStatus.Complete), (all.Runs[0].Origin, all.Runs[0].BinsRecorded, all.Runs[0].Status));
    }

    [Theory]
    [InlineData(-1, 0, 0, 0u, "from_tai_ns")]
    [InlineData(0, -1, 0, 0u, "to_tai_ns")]
    [InlineData(10, 5, 0, 0u, "to_tai_ns (5) must be after from_tai_ns (10)")]
    [InlineData(0, 0, -1, 0u, "bin_width_ns")]
    [InlineData(0, 0, 0, 10_001u, "limit is 10001; allowed 0..10000")]
    public async Task ListRuns_BadArgument_InvalidArgumentNamingIt(long from, long to, long width, uint limit, string expected)
    {
        var e = await Assert.ThrowsAsync<RpcException>(() =>
            _agent.Client.ListRunsAsync(new ListRunsRequest { FromTaiNs = from, ToTaiNs = to, BinWidthNs = width, Limit = limit }).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains(expected, e.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_2000BinsEveryMetric_TravelsAsOneMessageFarUnder4MiB()
    {
        var request = _agent.Request("big", leadMs: 100, binWidthNs: 10_000_000, bins: 2000);
        await _agent.Client.ScheduleRunAsync(request);
        await _agent.Engine.WaitArmedAsync("big");
        await _agent.AdvanceAsync(TimeSpan.FromSeconds(21), TimeSpan.FromSeconds(1));

        // The client keeps gRPC's default 4 MiB receive limit.
        var run = await _agent.Client.GetRunAsync(new GetRunRequest { RunId = "big" }, deadline: DateTime.UtcNow.AddSeconds(30));
        int size = run.CalculateSize();

        // Worst case, every value at its maximum varint length: still far under the limit.
        var worst = run.Clone();
        foreach (var field in new[] { worst.Series.IngressBytes, worst.Series.EgressBytes, worst.Series.IngressPackets, worst.Series.EgressPackets,
                     worst.Series.IngressCeBytes, worst.Series.IngressRetransmitBytes, worst.Series.EgressRetransmitBytes,
                     worst.Series.IngressCrossRegionBytes, worst.Series.EgressCrossRegionBytes })
        {
            for (int i = 0; i < field.Count; i++)
            {
                field[i] = ulong.MaxValue;
            }
        }
        foreach (var field in new[] { worst.Series.Connections, worst.Series.IngressConnections, worst.Series.EgressConnections })
        {
            for (int i = 0; i < field.Count; i++)
            {
                field[i] = uint.MaxValue;
            }
        }

        Assert.Equal(2000, run.Series.IngressCrossRegionBytes.Count);
        Assert.InRange(size, 20_000, 200_000);
        Assert.InRange(worst.CalculateSize(), size, 300_000);
    }

    private async Task WaitForLogAsync(string text)
    {
        await WaitUntilAsync(() => _agent.Logs.Entries.Any(e => e.Message.Contains(text, StringComparison.Ordinal)),
            () => "log not seen: " + text + "\n" + string.Join("\n", _agent.Logs.Entries.Select(e => e.Message)));
    }

    internal static async Task WaitUntilAsync(Func<bool> condition, Func<string>? describe = null)
    {
        for (int i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(25);
        }

        Assert.True(condition(), describe?.Invoke() ?? "condition not met within 5 s");
    }
}
