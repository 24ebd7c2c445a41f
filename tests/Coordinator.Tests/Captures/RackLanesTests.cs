using Grpc.Core;
using Millisampler.Coordinator.Captures;

namespace Millisampler.Coordinator.Tests.Captures;

public sealed class RackLanesTests
{
    [Fact]
    public void Reserve_FreeRack_EntersAtOnce()
    {
        var lanes = new RackLanes();

        RackLanes.Ticket t = lanes.Reserve("r1", "c1", waitIfBusy: false, maxQueued: 8);

        Assert.True(t.Entered.IsCompletedSuccessfully);
        Assert.False(t.IsQueued);
        Assert.Equal("c1", lanes.RunningOn("r1"));
    }

    [Fact]
    public void Reserve_BusyRackNoWait_ResourceExhaustedNamingRunningCapture()
    {
        var lanes = new RackLanes();
        lanes.Reserve("r1", "c1", false, 8);

        RpcException ex = Assert.Throws<RpcException>(() => lanes.Reserve("r1", "c2", false, 8));

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Contains("capture c1", ex.Status.Detail);
    }

    [Fact]
    public void Reserve_OtherRack_NotBlocked()
    {
        var lanes = new RackLanes();
        lanes.Reserve("r1", "c1", false, 8);

        Assert.True(lanes.Reserve("r2", "c2", false, 8).Entered.IsCompletedSuccessfully);
    }

    [Fact]
    public void Release_WaitersQueued_HandsRackOverInFifoOrder()
    {
        var lanes = new RackLanes();
        lanes.Reserve("r1", "c1", false, 8);
        RackLanes.Ticket t2 = lanes.Reserve("r1", "c2", true, 8);
        RackLanes.Ticket t3 = lanes.Reserve("r1", "c3", true, 8);
        Assert.Equal("c1", t2.QueuedBehind);
        Assert.False(t2.Entered.IsCompleted);

        lanes.Release("r1", "c1");
        Assert.True(t2.Entered.IsCompletedSuccessfully);
        Assert.False(t3.Entered.IsCompleted);
        Assert.Equal("c2", lanes.RunningOn("r1"));

        lanes.Release("r1", "c2");
        Assert.True(t3.Entered.IsCompletedSuccessfully);
        lanes.Release("r1", "c3");
        Assert.Null(lanes.RunningOn("r1"));
    }

    [Fact]
    public void Release_QueuedCaptureLeaves_TicketCancelledOthersKeepOrder()
    {
        var lanes = new RackLanes();
        lanes.Reserve("r1", "c1", false, 8);
        RackLanes.Ticket t2 = lanes.Reserve("r1", "c2", true, 8);
        RackLanes.Ticket t3 = lanes.Reserve("r1", "c3", true, 8);

        lanes.Release("r1", "c2");
        lanes.Release("r1", "c1");

        Assert.True(t2.Entered.IsCanceled);
        Assert.True(t3.Entered.IsCompletedSuccessfully);
    }

    [Fact]
    public void Reserve_QueueFull_ResourceExhausted()
    {
        var lanes = new RackLanes();
        lanes.Reserve("r1", "c1", false, 1);
        lanes.Reserve("r1", "c2", true, 1);

        RpcException ex = Assert.Throws<RpcException>(() => lanes.Reserve("r1", "c3", true, 1));

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Contains("at most 1", ex.Status.Detail);
    }
}
