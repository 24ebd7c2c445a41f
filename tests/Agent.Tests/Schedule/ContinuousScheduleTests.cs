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
    public async Task EveryCycle_OneRunPerWidthInOrder_FirstStartingAtItsJitteredInstantPlusTheLead()
    {
        // The schedule's jitter comes from a seeded Random; the test draws the same sequence to know each cycle's instant.
        const int Seed = 7;
        await using var agent = await AgentTestHost.StartAsync(
            ["--Agent:Schedule:Enabled=true", "--Agent:Schedule:Period=00:05:00", "--Agent:Schedule:Jitter=00:01:00"],
            services: s => s.AddSingleton(new Random(Seed)));
        var store = agent.Services.GetRequiredService<RunStore>();
        var jitter = new Random(Seed);
        // The schedule takes its first nominal instant when its thread starts: the clock stands still until then.
        await AgentGrpcServiceTests.WaitUntilAsync(() => agent.Logs.Entries.Any(e => e.Message.StartsWith("Continuous schedule:", StringComparison.Ordinal)));
        long origin = agent.Clock.NowTaiNs();

        for (int cycle = 0; cycle < 2; cycle++)
        {
            long at = SchedulePlanner.Jittered(origin + (cycle * 5 * 60_000 * Ms), 60_000 * Ms, jitter);
            // The schedule picks the next cycle when the last one's runs are over: moving the clock before it has would
            // make it skip a cycle it sees as missed (CI saw "3 runs armed, cycle 1").
            int due = cycle + 1;
            await AgentGrpcServiceTests.WaitUntilAsync(() => agent.Logs.Entries.Count(e => e.Message.StartsWith("Continuous schedule: cycle", StringComparison.Ordinal)) >= due,
                () => $"cycle {cycle} not yet planned by the schedule");
            Assert.Contains(agent.Logs.Entries, e => e.Message.StartsWith($"Continuous schedule: cycle {due} due at TAI {at} ns", StringComparison.Ordinal));
            // The clock stops at the cycle's instant (rounded up to its 100 ns tick) until the first run is armed, so
            // the schedule reads exactly that instant however slowly its thread runs.
            long untilNs = at - agent.Clock.NowTaiNs();
            Assert.True(untilNs > 0, $"cycle {cycle} is due {untilNs} ns from now");
            await agent.AdvanceAsync(TimeSpan.FromTicks((untilNs + 99) / 100), TimeSpan.FromSeconds(1));
            int armed = (cycle * 3) + 1;
            await AgentGrpcServiceTests.WaitUntilAsync(() => agent.Engine.Arms.Count >= armed, () => $"{agent.Engine.Arms.Count} runs armed, cycle {cycle}");
            Assert.Equal(armed, agent.Engine.Arms.Count);
            // The 100 ms start lead, aligned up to the 10 ms bin.
            Assert.Equal(ScheduleRunRules.AlignUp(at + (100 * Ms), 10 * Ms), agent.Engine.Arms[armed - 1].Request.StartTaiNs);

            // Then 10 ms, 1 ms and 100 us runs of 2,000 bins one after another: 22.2 s plus leads.
            for (int waited = 0; store.Count < (cycle + 1) * 3; waited++)
            {
                Assert.True(waited < 60, $"cycle {cycle}: {store.Count} runs stored after 60 s");
                await agent.AdvanceAsync(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
                await AgentGrpcServiceTests.WaitUntilAsync(() => agent.Engine.Arms.Count == store.Count + 1 || store.Count == (cycle + 1) * 3,
                    () => $"{agent.Engine.Arms.Count} armed, {store.Count} stored");
            }
        }

        var runs = (await store.ListAsync(0, 0, 0, 100, default)).Reverse().ToList();
        Assert.Equal(6, runs.Count);
        Assert.All(runs, r => Assert.Equal((RunOrigin.Schedule, RunStatus.Complete, 2000u), (r.Origin, r.Status, r.BinsRecorded)));
        Assert.Equal([10 * Ms, Ms, Ms / 10, 10 * Ms, Ms, Ms / 10], runs.Select(r => r.BinWidthNs));
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
