using Millisampler.Agent.Storage;

namespace Millisampler.Agent.Tests.Storage;

public class RetentionPolicyTests
{
    private const long Day = StoreTestRuns.Day;
    private static readonly long Now = StoreTestRuns.NowNs;

    [Fact]
    public void Plan_RunsOlderThanRetention_ExpiredExceptPinned()
    {
        var runs = new[]
        {
            new RetentionCandidate("old", Now - (4 * Day), 10, Pinned: false),
            new RetentionCandidate("old-pinned", Now - (5 * Day), 10, Pinned: true),
            new RetentionCandidate("young", Now - (2 * Day), 10, Pinned: false),
        };

        var plan = RetentionPolicy.Plan(runs, Now, retentionDays: 3, maxTotalBytes: 1_000);

        Assert.Equal(["old"], plan.ExpiredByAge.Select(r => r.RunId));
        Assert.Empty(plan.EvictedBySize);
        Assert.Equal(1, plan.PinnedKept);
        Assert.Equal(20, plan.RemainingBytes);
    }

    [Fact]
    public void Plan_OverBudget_EvictsOldestUnpinnedUntilItFits()
    {
        var runs = Enumerable.Range(0, 10)
            .Select(i => new RetentionCandidate($"r{i}", Now - Day + (i * StoreTestRuns.Second), 100, Pinned: i == 1))
            .Reverse();

        var plan = RetentionPolicy.Plan(runs, Now, retentionDays: 3, maxTotalBytes: 650);

        Assert.Empty(plan.ExpiredByAge);
        Assert.Equal(["r0", "r2", "r3", "r4"], plan.EvictedBySize.Select(r => r.RunId));
        Assert.Equal(1, plan.PinnedKept);
        Assert.Equal(600, plan.RemainingBytes);
    }

    [Fact]
    public void Plan_PinnedRunsAloneOverBudget_KeepsThemAndReportsRemainingAboveBudget()
    {
        var runs = new[]
        {
            new RetentionCandidate("p1", Now - 10, 500, Pinned: true),
            new RetentionCandidate("p2", Now - 5, 500, Pinned: true),
            new RetentionCandidate("u", Now, 500, Pinned: false),
        };

        var plan = RetentionPolicy.Plan(runs, Now, retentionDays: 3, maxTotalBytes: 600);

        Assert.Equal(["u"], plan.EvictedBySize.Select(r => r.RunId));
        Assert.Equal(2, plan.PinnedKept);
        Assert.Equal(1_000, plan.RemainingBytes);
    }
}
