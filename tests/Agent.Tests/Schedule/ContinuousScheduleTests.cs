using Microsoft.Extensions.DependencyInjection;
using Millisampler.Agent.Schedule;
using Millisampler.Agent.Storage;
using Millisampler.Agent.Tests.Service;
using Millisampler.Contracts.V1;

namespace Millisampler.Agent.Tests.Schedule;

/// <summary>The continuous schedule and its give-way rules, in the real agent host on a fake clock with a fake engine.</summary>
public sealed class ContinuousScheduleTests
{
    private const long Ms = 1_000_000;

    [Fact]
    public async Task EveryCycle_OneRunPerWidthInOrder_StartingWithinJitterOfItsNominalInstant()
    {
        await using var agent = await AgentTestHost.StartAsync(["--Agent:Schedule:Enabled=true", "--Agent:Schedule:Period=00:05:00", "--Agent:Schedule:Jitter=00:01:00"]);
        long origin = agent.Clock.NowTaiNs();

        // Two cycles: nominal at 0 and 5 min, each done within jitter (1 min) + 22.2 s; the third is not due before 10 min.
        await agent.AdvanceAsync(TimeSpan.FromMinutes(9), TimeSpan.FromSeconds(1));
        var store = agent.Services.GetRequiredService<RunStore>();
        await AgentGrpcServiceTests.WaitUntilAsync(() => store.Count >= 6, () => $"{store.Count} runs stored");
        var runs = (await store.ListAsync(0, 0, 0, 100, default)).Reverse().ToList();

        Assert.Equal(6, runs.Count);
        Assert.All(runs, r => Assert.Equal((RunOrigin.Schedule, RunStatus.Complete, 2000u), (r.Origin, r.Status, r.BinsRecorded)));
        Assert.Equal([10 * Ms, Ms, Ms / 10, 10 * Ms, Ms, Ms / 10], runs.Select(r => r.BinWidthNs));
        for (int cycle = 0; cycle < 2; cycle++)
        {
            long nominal = origin + (cycle * 5 * 60_000 * Ms);
            long offset = runs[cycle * 3].StartTaiNs - nominal;
            // Jitter in [0, 1 min), then the 100 ms start lead, aligned up to the 10 ms bin.
            Assert.InRange(offset, 100 * Ms, (60_000 + 100 + 10) * Ms);
        }
        for (int i = 1; i < runs.Count; i++)
        {
            Assert.True(runs[i].StartTaiNs >= runs[i - 1].StartTaiNs + (runs[i - 1].BinWidthNs * 2000), $"run {i} starts before run {i - 1} ends");
        }

        Assert.Equal(1, agent.Engine.MaxConcurrent);
    }

    [Fact]
    public async Task CoordinatorRunAcceptedWhileLocalRunRecords_CutsItShortAtArmTime_RecordNamesTheCoordinatorRun()
    {
        await using var agent = await AgentTestHost.StartAsync(["--Agent:Schedule:Enabled=true", "--Agent:Schedule:Jitter=00:00:00"]);
        var store = agent.Services.GetRequiredService<RunStore>();
        await AgentGrpcServiceTests.WaitUntilAsync(() => agent.Engine.Arms.Count == 1);
        var local = agent.Engine.Arms[0].Request;
        Assert.Equal((RunOrigin.Schedule, 10 * Ms), (local.Origin, local.BinWidthNs));
        await agent.AdvanceAsync(TimeSpan.FromSeconds(5));

        var capture = agent.Request("capture-1", leadMs: 3000, binWidthNs: Ms, bins: 2000);
        await agent.Client.ScheduleRunAsync(capture);
        await agent.AdvanceAsync(TimeSpan.FromSeconds(3), TimeSpan.FromMilliseconds(50));
        await agent.Engine.WaitArmedAsync("capture-1");
        await AgentGrpcServiceTests.WaitUntilAsync(() => store.Count >= 1);
        var cut = await store.TryGetAsync(local.RunId, default);

        Assert.NotNull(cut);
        Assert.Equal(RunStatus.CutShort, cut.Status);
        Assert.Contains("cut short: coordinator run 'capture-1' (from test-coordinator)", cut.StatusDetail, StringComparison.Ordinal);
        long armAt = capture.StartTaiNs - (500 * Ms);
        // Cut when the coordinator run had to be armed: the bins up to that instant are kept.
        Assert.Equal((uint)((armAt - local.StartTaiNs) / (10 * Ms)), cut.BinsRecorded, 5u);
        var armed = agent.Engine.Arms.Single(a => a.Request.RunId == "capture-1");
        Assert.InRange(armed.ArmedAtTaiNs, armAt, capture.StartTaiNs - (20 * Ms));
        Assert.Equal(1, agent.Engine.MaxConcurrent);

        await agent.AdvanceAsync(TimeSpan.FromSeconds(3));
        var run = await agent.Client.GetRunAsync(new GetRunRequest { RunId = "capture-1" }, deadline: DateTime.UtcNow.AddSeconds(10));
        Assert.Equal((RunStatus.Complete, 2000u), (run.Status, run.BinsRecorded));
    }

    [Fact]
    public async Task LocalRunThatWouldOverlapAcceptedCoordinatorRun_IsSkipped_RecordSaysByWhich()
    {
        await using var agent = await AgentTestHost.StartAsync();
        await agent.Client.ScheduleRunAsync(agent.Request("capture-2", leadMs: 5000, binWidthNs: Ms, bins: 1000));

        var overlapping = await agent.Runs.RecordLocalAsync(10 * Ms, 2000, 100 * Ms, default); // 20 s: reaches into capture-2
        var clear = agent.Runs.RecordLocalAsync(Ms / 10, 2000, 100 * Ms, default);              // 200 ms: done long before
        await agent.AdvanceAsync(TimeSpan.FromMilliseconds(400));
        var fine = await clear;

        Assert.Equal((RunStatus.Failed, 0u), (overlapping.Status, overlapping.BinsRecorded));
        Assert.StartsWith("skipped: coordinator run 'capture-2' (from test-coordinator) holds the sampler from TAI", overlapping.StatusDetail, StringComparison.Ordinal);
        Assert.NotNull(await agent.Services.GetRequiredService<RunStore>().TryGetAsync(overlapping.RunId, default));
        Assert.Equal(RunStatus.Complete, fine.Status);
        Assert.DoesNotContain(agent.Engine.Arms, a => a.Request.RunId == overlapping.RunId);
    }

    [Fact]
    public async Task Stop_WhileArmed_ArmedRunStoredCutShort_PendingRunStoredFailed()
    {
        await using var agent = await AgentTestHost.StartAsync();
        var store = agent.Services.GetRequiredService<RunStore>();
        await agent.Client.ScheduleRunAsync(agent.Request("armed", leadMs: 100, binWidthNs: 10 * Ms, bins: 2000));
        await agent.Client.ScheduleRunAsync(agent.Request("later", leadMs: 60_000, binWidthNs: Ms, bins: 100));
        await agent.Engine.WaitArmedAsync("armed");
        await agent.AdvanceAsync(TimeSpan.FromSeconds(1));

        await agent.StopAsync();
        var armed = await store.TryGetAsync("armed", default);
        var later = await store.TryGetAsync("later", default);

        Assert.NotNull(armed);
        Assert.Equal((RunStatus.CutShort, "cut short: the agent stopped"), (armed.Status, armed.StatusDetail));
        Assert.InRange(armed.BinsRecorded, 85u, 95u);
        Assert.NotNull(later);
        Assert.Equal((RunStatus.Failed, "the agent stopped before the run was armed"), (later.Status, later.StatusDetail));
    }
}
