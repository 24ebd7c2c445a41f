using Microsoft.Extensions.Time.Testing;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Sweeps;

namespace Millisampler.Coordinator.Tests.Sweeps;

public sealed class SweepPlannerTests
{
    private static readonly long Minute = 60_000_000_000;
    private static readonly DateTimeOffset T0 = new(2025, 3, 3, 0, 0, 0, TimeSpan.Zero);
    private static readonly IReadOnlySet<string> NoneBusy = new HashSet<string>();
    private static readonly Dictionary<(string, long), long> NoneClaimed = [];

    private static Sweep NewSweep(SweepAlignment alignment = SweepAlignment.Staggered, long periodNs = 0, long jitterNs = 0,
        uint maxConcurrent = 100, params long[] widths)
    {
        var d = new SweepDefinition
        {
            Name = "s",
            Racks = new SweepRacks { All = true },
            PeriodNs = periodNs == 0 ? 10 * Minute : periodNs,
            JitterNs = jitterNs,
            Alignment = alignment,
            MaxConcurrent = maxConcurrent,
        };
        foreach (long w in widths.Length == 0 ? [1_000_000L] : widths)
        {
            d.Widths.Add(new SweepWidth { BinWidthNs = w, Bins = 100 });
        }

        return new Sweep { Definition = d };
    }

    private static string[] Racks(int n) => [.. Enumerable.Range(0, n).Select(i => $"r{i:000}")];

    [Fact]
    public void SelectRacks_AllListAndPattern()
    {
        string[] known = ["pod1-a", "pod1-b", "pod2-a", "x"];
        Assert.Equal(known, SweepPlanner.SelectRacks(new SweepRacks { All = true }, known.Reverse()));
        Assert.Equal(["pod2-a", "x"], SweepPlanner.SelectRacks(new SweepRacks { Names = { "x", "pod2-a", "gone" } }, known));
        Assert.Equal(["pod1-a", "pod1-b"], SweepPlanner.SelectRacks(new SweepRacks { Pattern = "pod1-*" }, known));
        Assert.Equal(["pod1-a", "pod2-a"], SweepPlanner.SelectRacks(new SweepRacks { Pattern = "pod?-a" }, known));
        Assert.Empty(SweepPlanner.SelectRacks(new SweepRacks { Pattern = "pod1." }, known));
    }

    [Fact]
    public void Staggered_OverOnePeriod_EveryRackOnceAtDistinctSpreadTimes()
    {
        Sweep sweep = NewSweep();
        string[] racks = Racks(100);
        var time = new FakeTimeProvider(T0);
        var claimed = new Dictionary<(string, long), long>();
        var startTimes = new Dictionary<string, DateTimeOffset>();
        var perMinute = new int[10];
        // Step through three periods one second at a time; every start is claimed at once.
        for (int step = 0; step < 1800; step++)
        {
            SweepPlan plan = SweepPlanner.Plan(sweep, racks, claimed, NoneBusy, 0, time.GetUtcNow());
            foreach (PlannedStart s in plan.Start)
            {
                claimed[(s.Rack, s.BinWidthNs)] = s.Period;
                if (time.GetUtcNow() >= T0 + TimeSpan.FromMinutes(10) && time.GetUtcNow() < T0 + TimeSpan.FromMinutes(20))
                {
                    Assert.False(startTimes.ContainsKey(s.Rack), $"{s.Rack} twice in one period");
                    startTimes[s.Rack] = time.GetUtcNow();
                    perMinute[(int)(time.GetUtcNow() - T0 - TimeSpan.FromMinutes(10)).TotalMinutes]++;
                }
            }

            time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Equal(100, startTimes.Count);
        // Spread: no minute of the period holds more than a quarter of the racks (all at once would be 100).
        Assert.All(perMinute, n => Assert.InRange(n, 1, 25));
    }

    [Fact]
    public void FleetSynchronized_AllRacksDueAtTheSameInstant()
    {
        Sweep sweep = NewSweep(SweepAlignment.FleetSynchronized);
        string[] racks = Racks(5);
        DateTimeOffset justBefore = T0 + TimeSpan.FromMinutes(10) - TimeSpan.FromTicks(1);
        var claimed = racks.ToDictionary(r => (r, 1_000_000L), _ => SweepPlanner.CurrentPeriod(sweep.Definition, "r000", 0, TimeNs.FromUnix(justBefore)));

        Assert.Empty(SweepPlanner.Plan(sweep, racks, claimed, NoneBusy, 0, justBefore).Start);
        SweepPlan plan = SweepPlanner.Plan(sweep, racks, claimed, NoneBusy, 0, T0 + TimeSpan.FromMinutes(10));
        Assert.Equal(racks, plan.Start.Select(s => s.Rack));
        Assert.All(plan.Start, s => Assert.Equal(T0 + TimeSpan.FromMinutes(10), s.DueAt));
    }

    [Fact]
    public void Period_AfterClaim_NextStartExactlyOnePeriodLater()
    {
        Sweep sweep = NewSweep(SweepAlignment.FleetSynchronized);
        var claimed = new Dictionary<(string, long), long>();
        SweepPlan first = SweepPlanner.Plan(sweep, ["r1"], claimed, NoneBusy, 0, T0);
        PlannedStart s = Assert.Single(first.Start);
        claimed[("r1", s.BinWidthNs)] = s.Period;

        Assert.Empty(SweepPlanner.Plan(sweep, ["r1"], claimed, NoneBusy, 0, T0 + TimeSpan.FromMinutes(10) - TimeSpan.FromTicks(1)).Start);
        PlannedStart next = Assert.Single(SweepPlanner.Plan(sweep, ["r1"], claimed, NoneBusy, 0, T0 + TimeSpan.FromMinutes(10)).Start);
        Assert.Equal(s.Period + 1, next.Period);
    }

    [Fact]
    public void Jitter_WithinBound_DeterministicAndNotConstant()
    {
        Sweep sweep = NewSweep(SweepAlignment.FleetSynchronized, jitterNs: 2 * Minute);
        long[] jitters = [.. Enumerable.Range(0, 50).Select(k => SweepPlanner.JitterNs(sweep.Definition, "r1", 1_000_000, k))];

        Assert.All(jitters, j => Assert.InRange(j, 0, (2 * Minute) - 1));
        Assert.True(jitters.Distinct().Count() > 40);
        Assert.Equal(jitters, Enumerable.Range(0, 50).Select(k => SweepPlanner.JitterNs(sweep.Definition, "r1", 1_000_000, k)));
        long due = SweepPlanner.DueUnixNs(sweep.Definition, "r1", 0, 7);
        Assert.Equal((7 * 10 * Minute) + jitters[7], due);
        // Not due before its jittered instant, due from it on.
        var claimed = new Dictionary<(string, long), long> { [("r1", 1_000_000)] = 6 };
        Assert.Empty(SweepPlanner.Plan(sweep, ["r1"], claimed, NoneBusy, 0, TimeNs.ToUnix(due - 100)).Start);
        Assert.Single(SweepPlanner.Plan(sweep, ["r1"], claimed, NoneBusy, 0, TimeNs.ToUnix(due)).Start);
    }

    [Fact]
    public void Widths_OfOneRack_SpacedAndNeverTogether()
    {
        Sweep sweep = NewSweep(SweepAlignment.FleetSynchronized, widths: [100_000, 1_000_000, 10_000_000]);
        Assert.Equal([0, 200_000_000_000, 400_000_000_000], Enumerable.Range(0, 3).Select(i => SweepPlanner.OffsetNs(sweep.Definition, "r1", i)));

        // Nothing claimed yet: all three widths are due, but a rack runs one capture at a time.
        SweepPlan plan = SweepPlanner.Plan(sweep, ["r1"], NoneClaimed, NoneBusy, 0, T0 + TimeSpan.FromMinutes(9));
        Assert.Single(plan.Start);
        Assert.Equal(2, plan.Busy.Count);
    }

    [Fact]
    public void Budget_LimitsConcurrentStarts_CountingRunningOnes()
    {
        Sweep sweep = NewSweep(SweepAlignment.FleetSynchronized, maxConcurrent: 3);
        string[] racks = Racks(10);

        SweepPlan plan = SweepPlanner.Plan(sweep, racks, NoneClaimed, NoneBusy, 0, T0);
        Assert.Equal(["r000", "r001", "r002"], plan.Start.Select(s => s.Rack));
        Assert.Equal(7, plan.OverBudget.Count);
        Assert.Single(SweepPlanner.Plan(sweep, racks, NoneClaimed, NoneBusy, 2, T0).Start);
        Assert.Empty(SweepPlanner.Plan(sweep, racks, NoneClaimed, NoneBusy, 3, T0).Start);
    }

    [Fact]
    public void BusyRack_Skipped_ThenTakenWhenFreeWithinThePeriod()
    {
        Sweep sweep = NewSweep(SweepAlignment.FleetSynchronized);
        var busy = new HashSet<string> { "r1" };

        SweepPlan plan = SweepPlanner.Plan(sweep, ["r1", "r2"], NoneClaimed, busy, 0, T0);
        Assert.Equal(["r2"], plan.Start.Select(s => s.Rack));
        Assert.Equal(["r1"], plan.Busy.Select(s => s.Rack));
        PlannedStart later = Assert.Single(SweepPlanner.Plan(sweep, ["r1"], NoneClaimed, NoneBusy, 0, T0 + TimeSpan.FromMinutes(3)).Start);
        Assert.Equal(plan.Busy[0].Period, later.Period);
    }

    [Fact]
    public void MissedPeriods_NotMadeUp_OnlyTheCurrentOne()
    {
        Sweep sweep = NewSweep(SweepAlignment.FleetSynchronized);
        var claimed = new Dictionary<(string, long), long> { [("r1", 1_000_000)] = 100 };
        DateTimeOffset muchLater = TimeNs.ToUnix(105 * 10 * Minute) + TimeSpan.FromMinutes(1);

        PlannedStart s = Assert.Single(SweepPlanner.Plan(sweep, ["r1"], claimed, NoneBusy, 0, muchLater).Start);
        Assert.Equal(105, s.Period);
    }

    [Fact]
    public void Paused_NothingDue()
    {
        Sweep sweep = NewSweep(SweepAlignment.FleetSynchronized);
        sweep.Paused = true;
        Assert.Empty(SweepPlanner.Plan(sweep, ["r1"], NoneClaimed, NoneBusy, 0, T0).Start);
    }

    [Fact]
    public void Window_OnlyInside_WrapsPastMidnight()
    {
        Sweep sweep = NewSweep(SweepAlignment.FleetSynchronized);
        sweep.Definition.Window = new SweepWindow { StartMinute = 22 * 60, EndMinute = 2 * 60 };

        Assert.Single(SweepPlanner.Plan(sweep, ["r1"], NoneClaimed, NoneBusy, 0, T0 + TimeSpan.FromMinutes(30)).Start);
        Assert.Single(SweepPlanner.Plan(sweep, ["r1"], NoneClaimed, NoneBusy, 0, T0 + TimeSpan.FromHours(23)).Start);
        Assert.Empty(SweepPlanner.Plan(sweep, ["r1"], NoneClaimed, NoneBusy, 0, T0 + TimeSpan.FromHours(2)).Start);
        Assert.Empty(SweepPlanner.Plan(sweep, ["r1"], NoneClaimed, NoneBusy, 0, T0 + TimeSpan.FromHours(12)).Start);
    }
}
