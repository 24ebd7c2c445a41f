using Millisampler.Coordinator.Captures;

namespace Millisampler.Coordinator.Tests.Captures;

public sealed class StartInstantPlannerTests
{
    private static readonly TimeSpan Floor = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan Ceiling = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Assumed = TimeSpan.FromMilliseconds(20);

    [Theory]
    [InlineData(1_000_000L, 1_000_000L, 1_000_000L)]
    [InlineData(1_000_001L, 1_000_000L, 2_000_000L)]
    [InlineData(1_999_999L, 1_000_000L, 2_000_000L)]
    [InlineData(37_000_000_123L, 100_000L, 37_000_100_000L)]
    [InlineData(0L, 10_000_000L, 0L)]
    [InlineData(-1L, 1_000L, 0L)]
    [InlineData(-1_500L, 1_000L, -1_000L)]
    public void RoundUpToGrid_NotOnGrid_NextMultipleOfBinWidth(long t, long w, long expected) =>
        Assert.Equal(expected, StartInstantPlanner.RoundUpToGrid(t, w));

    [Fact]
    public void ChooseStart_AnyNowAndLead_OnGlobalGridNoEarlierThanNowPlusLead()
    {
        var rng = new Random(7);
        foreach (long w in new[] { 100_000L, 1_000_000L, 10_000_000L, 333_333L })
        {
            for (int i = 0; i < 1000; i++)
            {
                long now = 1_700_000_000_000_000_000 + rng.NextInt64(0, 1_000_000_000_000);
                long lead = rng.NextInt64(1, 5_000_000_000);
                long start = StartInstantPlanner.ChooseStart(now, lead, w);
                Assert.Equal(0, start % w);
                Assert.InRange(start - (now + lead), 0, w - 1);
            }
        }
    }

    [Fact]
    public void ChooseStart_TwoCapturesSameWidth_BinsLineUpAcrossCaptures()
    {
        long a = StartInstantPlanner.ChooseStart(1_700_000_000_123_456_789, 200_000_000, 1_000_000);
        long b = StartInstantPlanner.ChooseStart(1_700_000_037_987_654_321, 350_000_000, 1_000_000);

        Assert.Equal(0, (b - a) % 1_000_000);
    }

    [Fact]
    public void DeriveLead_FastAgents_FloorApplies()
    {
        long lead = StartInstantPlanner.DeriveLeadNs([TimeSpan.FromMilliseconds(0.5), TimeSpan.FromMilliseconds(1)], 10, Assumed, Floor, Ceiling, 0, 1_000_000);

        Assert.Equal(200_000_000, lead);
    }

    [Fact]
    public void DeriveLead_SlowestAgentTimesFactor_AboveFloor()
    {
        long lead = StartInstantPlanner.DeriveLeadNs([TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(50)], 10, Assumed, Floor, Ceiling, 0, 1_000_000);

        Assert.Equal(500_000_000, lead);
    }

    [Fact]
    public void DeriveLead_UnmeasuredAgent_CountsAsAssumedRoundTrip()
    {
        long lead = StartInstantPlanner.DeriveLeadNs([TimeSpan.FromMilliseconds(1), null], 20, Assumed, Floor, Ceiling, 0, 1_000_000);

        Assert.Equal(400_000_000, lead);
    }

    [Fact]
    public void DeriveLead_VerySlowAgent_CappedAtCeilingAndAgentMaxLeadMinusOneBin()
    {
        Assert.Equal(10_000_000_000, StartInstantPlanner.DeriveLeadNs([TimeSpan.FromSeconds(5)], 10, Assumed, Floor, Ceiling, 0, 1_000_000));
        Assert.Equal(2_999_000_000, StartInstantPlanner.DeriveLeadNs([TimeSpan.FromSeconds(5)], 10, Assumed, Floor, Ceiling, 3_000_000_000, 1_000_000));
    }
}
