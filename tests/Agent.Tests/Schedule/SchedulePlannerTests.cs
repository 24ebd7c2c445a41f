using Millisampler.Agent.Schedule;

namespace Millisampler.Agent.Tests.Schedule;

public sealed class SchedulePlannerTests
{
    private const long Minute = 60_000_000_000;

    [Fact]
    public void Jittered_ManyDraws_StayInZeroToJitterAndSpreadOverIt()
    {
        var random = new Random(7);
        long nominal = 1_800_000_000_000_000_000;
        var offsets = Enumerable.Range(0, 10_000).Select(_ => SchedulePlanner.Jittered(nominal, Minute, random) - nominal).ToList();

        Assert.All(offsets, o => Assert.InRange(o, 0, Minute - 1));
        Assert.True(offsets.Min() < Minute / 100, $"smallest offset {offsets.Min()} ns: draws do not reach the start of the window");
        Assert.True(offsets.Max() > Minute * 99 / 100, $"largest offset {offsets.Max()} ns: draws do not reach the end of the window");
        // Uniform: each tenth of the window gets about a tenth of the draws.
        Assert.All(offsets.GroupBy(o => o * 10 / Minute), g => Assert.InRange(g.Count(), 850, 1150));
    }

    [Fact]
    public void Jittered_ZeroJitter_IsTheNominalInstant() =>
        Assert.Equal(42, SchedulePlanner.Jittered(42, 0, new Random(1)));

    [Fact]
    public void NextNominal_OnTime_IsOnePeriodLater() =>
        Assert.Equal(5 * Minute, SchedulePlanner.NextNominal(0, 5 * Minute, Minute));

    [Fact]
    public void NextNominal_CyclesMissed_DropsThemInsteadOfBunching() =>
        Assert.Equal(15 * Minute, SchedulePlanner.NextNominal(0, 5 * Minute, (11 * Minute) + 1));

    [Fact]
    public void Overlaps_RunsCloserThanGap_Conflict()
    {
        Assert.True(ScheduleRunRules.Overlaps(0, 100, 50, 150, 0));
        Assert.True(ScheduleRunRules.Overlaps(0, 100, 110, 150, 20));
        Assert.False(ScheduleRunRules.Overlaps(0, 100, 120, 150, 20));
        Assert.False(ScheduleRunRules.Overlaps(200, 300, 0, 180, 20));
    }

    [Fact]
    public void AlignUp_RoundsToNextMultiple()
    {
        Assert.Equal(20, ScheduleRunRules.AlignUp(11, 10));
        Assert.Equal(20, ScheduleRunRules.AlignUp(20, 10));
    }
}
