using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Membership;
using Millisampler.Coordinator.Tests.Infrastructure;

namespace Millisampler.Coordinator.Tests.Captures;

/// <summary>The coordinator's own NTP-style measurement of each agent's clock, stored with the capture's hosts.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class ClockOffsetTests
{
    [Fact]
    public void Estimate_FourTimestamps_OffsetAndHalfRoundTripLessProcessing()
    {
        // Coordinator sends at 1000, agent (5000 ahead) receives at 6100, answers at 6300, reply arrives at 1500.
        (long offset, long bound) = ClockOffsetEstimator.Estimate(1_000, new ClockSample { ReceiveTaiNs = 6_100, TransmitTaiNs = 6_300 }, 1_500)!.Value;
        Assert.Equal(((6_100 - 1_000) + (6_300 - 1_500)) / 2, offset);
        Assert.Equal(((1_500 - 1_000) - (6_300 - 6_100)) / 2, bound);
        Assert.Null(ClockOffsetEstimator.Estimate(1_000, null, 1_500));
        Assert.Null(ClockOffsetEstimator.Estimate(1_000, new ClockSample { ReceiveTaiNs = 6_300, TransmitTaiNs = 6_100 }, 1_500));
        Assert.True(ClockOffsetEstimator.ExceedsHalfBin(-600_001, 100_000, 1_000_000));
        Assert.False(ClockOffsetEstimator.ExceedsHalfBin(600_000, 100_000, 1_000_000));
        Assert.False(ClockOffsetEstimator.ExceedsHalfBin(-500_000, 0, 1_000_000));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Capture_AgentClockShifted_MeasuredOffsetStoredAndFlaggedBesideItsOwnBound(bool window)
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync();
        await c.AddAgentsAsync(2, configure: (i, a) => a.ClockShiftNs = i == 1 ? 100_000_000 : 0);
        await c.WaitForProbesAsync();

        StartCaptureRequest request = window
            ? new StartCaptureRequest { Rack = "r1", LookbackNs = 200_000_000 }
            : TestCoordinator.ShortCapture();
        Capture done = await c.WaitForEndAsync((await c.Client.StartCaptureAsync(request)).CaptureId);

        HostOutcome good = done.Hosts.Single(h => h.Host == "h01");
        HostOutcome shifted = done.Hosts.Single(h => h.Host == "h02");
        Assert.True(good.OffsetMeasured);
        Assert.True(shifted.OffsetMeasured);
        // The true offset lies within the measured bound (always: it is half the round trip less the agent's time).
        Assert.InRange(good.MeasuredOffsetNs, -good.MeasuredOffsetBoundNs, good.MeasuredOffsetBoundNs);
        Assert.InRange(100_000_000L, shifted.MeasuredOffsetNs - shifted.MeasuredOffsetBoundNs, shifted.MeasuredOffsetNs + shifted.MeasuredOffsetBoundNs);
        Assert.False(good.OffsetExceedsHalfBin);
        Assert.True(shifted.OffsetExceedsHalfBin);
        Assert.Contains("measured clock offset", shifted.Reason);
        // The self-reported bound stays beside it.
        Assert.Equal(20_000, shifted.ClockErrorNs);

        Capture stored = (await c.Client.ListCapturesAsync(new ListCapturesRequest { Rack = "r1" })).Captures.Single();
        Assert.True(stored.Hosts.Single(h => h.Host == "h02").OffsetExceedsHalfBin);
    }
}
