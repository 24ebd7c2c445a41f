using Grpc.Core;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Tests.Infrastructure;

namespace Millisampler.Coordinator.Tests.Captures;

/// <summary>Captures as windows of absolute bins, read from the fake agents' look-back rings with ReadWindow.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class WindowCaptureTests
{
    private const long Ms = 1_000_000;

    [Fact]
    public async Task Lookback_TwoSeconds_ReadsTheWindowEndingNowFromEveryHostArmsNothing()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync();
        await c.AddAgentsAsync(3);
        await c.WaitForProbesAsync();

        long asked = TestCoordinator.Clock.NowNs();
        Capture started = await c.Client.StartCaptureAsync(new StartCaptureRequest { Rack = "r1", LookbackNs = 2_000 * Ms });
        Assert.Equal(CaptureWindow.Lookback, started.Window);
        Assert.Equal(2000u, started.Bins);
        Assert.Equal(Ms, started.BinWidthNs);
        Assert.Equal(0, started.StartTaiNs % Ms);
        // The window ends with the last complete bin before the request.
        Assert.True(started.StartTaiNs + (2000 * Ms) <= TestCoordinator.Clock.NowNs());
        Assert.True(started.StartTaiNs + (2000 * Ms) >= (asked / Ms * Ms) - Ms);

        Capture done = await c.WaitForEndAsync(started.CaptureId);
        Assert.Equal(CaptureState.Analysed, done.State);
        Assert.Equal(3u, done.HostsCovered);
        Assert.All(done.Hosts, h => Assert.Equal(HostOutcomeKind.HostOutcomeCollected, h.Outcome));
        foreach (FakeAgent a in c.Agents)
        {
            Assert.Empty(a.ScheduleCalls);
            (long _, ReadWindowRequest r) = Assert.Single(a.ReadWindowCalls);
            Assert.Equal(done.StartTaiNs / Ms, r.FirstBin);
            Assert.Equal(2000u, r.Bins);
            Assert.Equal(done.CaptureId, r.RunId);
        }

        // The fake rings burst in the same relative bins: one synchronized event of all three.
        Assert.Equal(3, Assert.Single(done.Analysis.Events).Hosts.Count);
        GetCaptureSeriesResponse series = await c.Client.GetCaptureSeriesAsync(new GetCaptureSeriesRequest { CaptureId = done.CaptureId });
        Assert.All(series.Runs, r => Assert.Equal(RunOrigin.Lookback, r.Origin));
    }

    [Fact]
    public async Task Around_WindowReachingIntoTheFuture_IsReadOnlyAfterItsEnd()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync();
        await c.AddAgentsAsync(2);
        await c.WaitForProbesAsync();

        long instant = TestCoordinator.Clock.NowNs();
        Capture started = await c.Client.StartCaptureAsync(new StartCaptureRequest
        {
            Rack = "r1",
            Around = new AroundWindow { InstantTaiNs = instant, BeforeNs = 300 * Ms, AfterNs = 300 * Ms },
        });
        Assert.Equal(CaptureWindow.Around, started.Window);
        Assert.Equal(instant, started.InstantTaiNs);
        Assert.Equal((instant - (300 * Ms)) / Ms * Ms, started.StartTaiNs);
        long end = started.StartTaiNs + (started.Bins * Ms);
        Assert.True(end >= instant + (300 * Ms));

        Capture done = await c.WaitForEndAsync(started.CaptureId);
        Assert.Equal(CaptureState.Analysed, done.State);
        Assert.All(c.Agents, a => Assert.True(Assert.Single(a.ReadWindowCalls).ArrivedTaiNs >= end));
    }

    [Fact]
    public async Task Around_UnixInstant_ConvertedWithTheCoordinatorsTaiOffset()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync();
        await c.AddAgentsAsync(1);
        await c.WaitForProbesAsync();

        long unix = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * Ms - (1_000 * Ms);
        Capture started = await c.Client.StartCaptureAsync(new StartCaptureRequest
        {
            Rack = "r1",
            Around = new AroundWindow { InstantUnixNs = unix, BeforeNs = 100 * Ms, AfterNs = 100 * Ms },
        });
        Assert.Equal(unix + (TestCoordinator.Clock.TaiOffsetSeconds * 1_000_000_000L), started.InstantTaiNs);
        Assert.Equal(CaptureState.Analysed, (await c.WaitForEndAsync(started.CaptureId)).State);
    }

    [Fact]
    public async Task Lookback_HostsWhoseRingDoesNotCoverTheWindow_ReportedMissingWithTheReason()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync();
        await c.AddAgentsAsync(4, configure: (i, a) =>
        {
            switch (i)
            {
                case 1:
                    a.LookbackRings.Clear();
                    break;
                case 2:
                    a.LookbackRings[0] = new LookbackRing { BinWidthNs = 10 * Ms, DepthBins = 4_000 };
                    break;
                case 3:
                    a.LookbackRings[0] = new LookbackRing { BinWidthNs = Ms, DepthBins = 500 };
                    break;
            }
        });
        await c.WaitForProbesAsync();

        Capture done = await c.WaitForEndAsync((await c.Client.StartCaptureAsync(
            new StartCaptureRequest { Rack = "r1", BinWidthNs = Ms, LookbackNs = 2_000 * Ms })).CaptureId);

        Assert.Equal(CaptureState.Analysed, done.State);
        Assert.Equal(1u, done.HostsCovered);
        Assert.Equal(HostOutcomeKind.HostOutcomeCollected, done.Hosts.Single(h => h.Host == "h01").Outcome);
        HostOutcome off = done.Hosts.Single(h => h.Host == "h02");
        Assert.Equal(HostOutcomeKind.HostOutcomeRefused, off.Outcome);
        Assert.Equal("ring does not cover the window: the agent's look-back recorder is off", off.Reason);
        Assert.Contains("no ring of 1ms bins (the agent keeps 10ms × 4000)", done.Hosts.Single(h => h.Host == "h03").Reason);
        Assert.Contains("the window is 2000 bins, the ring holds 500", done.Hosts.Single(h => h.Host == "h04").Reason);
        Assert.Empty(c.Agents[1].ReadWindowCalls);
        Assert.Empty(c.Agents[2].ReadWindowCalls);
        Assert.Empty(c.Agents[3].ReadWindowCalls);
    }

    [Fact]
    public async Task Lookback_WhileAForwardCaptureHoldsTheRack_RunsAtOnce()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync();
        await c.AddAgentsAsync(2);
        await c.WaitForProbesAsync();

        Capture forward = await c.Client.StartCaptureAsync(TestCoordinator.ShortCapture(bins: 500));
        Capture window = await c.Client.StartCaptureAsync(new StartCaptureRequest { Rack = "r1", LookbackNs = 500 * Ms });

        Assert.Equal(CaptureState.Analysed, (await c.WaitForEndAsync(window.CaptureId)).State);
        Assert.Equal(CaptureState.Analysed, (await c.WaitForEndAsync(forward.CaptureId)).State);
    }

    [Theory]
    [InlineData("bins", "bins: 100 with a window: leave 0")]
    [InlineData("width", "bin_width_ns: no selected host keeps a look-back ring of 10ms")]
    [InlineData("instant", "around.instant_tai_ns: required")]
    [InlineData("before", "around.before_ns/around.after_ns: -1/0")]
    [InlineData("deep", "lookback_ns: the window is 5000 bins of 1ms; allowed 1..4000 (the deepest ring of the selected hosts)")]
    [InlineData("tiny", "lookback_ns: 1000 is out of range; at least one bin (1ms)")]
    public async Task Window_BadInput_InvalidArgumentNamingTheField(string what, string message)
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync();
        await c.AddAgentsAsync(1);
        await c.WaitForProbesAsync();

        var request = new StartCaptureRequest { Rack = "r1" };
        switch (what)
        {
            case "bins":
                request.LookbackNs = 100 * Ms;
                request.Bins = 100;
                break;
            case "width":
                request.LookbackNs = 100 * Ms;
                request.BinWidthNs = 10 * Ms;
                break;
            case "instant":
                request.Around = new AroundWindow { BeforeNs = Ms };
                break;
            case "before":
                request.Around = new AroundWindow { InstantTaiNs = TestCoordinator.Clock.NowNs(), BeforeNs = -1 };
                break;
            case "deep":
                request.LookbackNs = 5_000 * Ms;
                break;
            case "tiny":
                request.LookbackNs = 1_000;
                break;
        }

        RpcException ex = await Assert.ThrowsAsync<RpcException>(async () => await c.Client.StartCaptureAsync(request));
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains(message, ex.Status.Detail);
    }
}
