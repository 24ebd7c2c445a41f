using Grpc.Core;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Captures;
using Millisampler.Coordinator.Membership;

namespace Millisampler.Coordinator.Sweeps;

/// <summary>The sweep scheduler's view of this coordinator: its racks, which are busy, and sweep captures through <see cref="CaptureService"/>.</summary>
internal sealed class CoordinatorSweepCaptures : ISweepCaptures
{
    private readonly CaptureService _captures;
    private readonly MembershipRegistry _registry;
    private readonly RackLanes _lanes;
    private readonly TaiClock _clock;

    public CoordinatorSweepCaptures(CaptureService captures, MembershipRegistry registry, RackLanes lanes, TaiClock clock)
    {
        _captures = captures;
        _registry = registry;
        _lanes = lanes;
        _clock = clock;
    }

    public IReadOnlyList<string> Racks() => _registry.Racks();

    public bool IsBusy(string rack) => _lanes.RunningOn(rack) is not null;

    public async Task<string?> StartAsync(PlannedStart start, CancellationToken cancellationToken)
    {
        try
        {
            Capture c = await _captures.StartCaptureAsync(new StartCaptureRequest
            {
                Rack = start.Rack,
                BinWidthNs = start.BinWidthNs,
                Bins = start.Bins,
                // Never queue: an engineer's capture or a trigger owns a busy rack.
                WaitIfBusy = false,
            }, cancellationToken, requestedBy: $"sweep:{start.Sweep}", origin: CaptureOrigin.Sweep, originName: start.Sweep).ConfigureAwait(false);
            return c.CaptureId;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.ResourceExhausted)
        {
            return null;
        }
    }

    public async Task<SweepSummary?> CompleteAsync(string captureId, PlannedStart start, CancellationToken cancellationToken)
    {
        await _captures.WatchCaptureAsync(captureId, _ => Task.CompletedTask, cancellationToken).ConfigureAwait(false);
        Capture capture = await _captures.GetCaptureAsync(captureId, cancellationToken).ConfigureAwait(false);
        if (capture.State != CaptureState.Analysed)
        {
            return null;
        }

        GetCaptureSeriesResponse series = await _captures.GetCaptureSeriesAsync(new GetCaptureSeriesRequest { CaptureId = captureId },
            cancellationToken).ConfigureAwait(false);
        long startUnixNs = capture.StartTaiNs - (_clock.TaiOffsetSeconds * 1_000_000_000L);
        return SweepSummarizer.Summarize(capture, series.Runs, start.Sweep, startUnixNs);
    }
}
