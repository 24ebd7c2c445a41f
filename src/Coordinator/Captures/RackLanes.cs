using Grpc.Core;

namespace Millisampler.Coordinator.Captures;

/// <summary>
/// One lane per rack: at most one capture runs on a rack at a time, so runs never overlap on an agent; later
/// captures either wait in FIFO order (wait_if_busy) or are rejected with RESOURCE_EXHAUSTED naming the running one.
/// </summary>
internal sealed class RackLanes
{
    private readonly Dictionary<string, Lane> _lanes = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>A place in a rack's lane.</summary>
    /// <param name="Entered">Completes when the capture owns the rack.</param>
    /// <param name="QueuedBehind">The capture running when this one was queued; null when it entered at once.</param>
    public sealed record Ticket(Task Entered, string? QueuedBehind)
    {
        public bool IsQueued => QueuedBehind is not null;

        /// <summary>A ticket outside every lane, for captures that arm nothing (windows read from the look-back rings).</summary>
        public static Ticket Free { get; } = new(Task.CompletedTask, null);
    }

    /// <summary>Captures waiting behind a running one, per rack (racks ever used; 0 when none wait).</summary>
    public IReadOnlyList<(string Rack, int Queued)> QueueDepths()
    {
        lock (_lock)
        {
            return [.. _lanes.Select(kv => (kv.Key, kv.Value.Waiting.Count))];
        }
    }

    /// <summary>Enters the rack's lane or queues in it. Throws RESOURCE_EXHAUSTED when busy and not waiting, or when the queue is full.</summary>
    public Ticket Reserve(string rack, string captureId, bool waitIfBusy, int maxQueued)
    {
        lock (_lock)
        {
            if (!_lanes.TryGetValue(rack, out Lane? lane))
            {
                lane = new Lane();
                _lanes.Add(rack, lane);
            }

            if (lane.Running is null)
            {
                lane.Running = captureId;
                return new Ticket(Task.CompletedTask, null);
            }

            if (!waitIfBusy)
            {
                throw new RpcException(new Status(StatusCode.ResourceExhausted,
                    $"rack '{rack}' is busy with capture {lane.Running}" +
                    (lane.Waiting.Count > 0 ? $" ({lane.Waiting.Count} more queued)" : "") +
                    "; retry when it ends (WatchCapture) or set wait_if_busy to queue behind it"));
            }

            if (lane.Waiting.Count >= maxQueued)
            {
                throw new RpcException(new Status(StatusCode.ResourceExhausted,
                    $"rack '{rack}' is busy with capture {lane.Running} and {lane.Waiting.Count} captures already wait (at most {maxQueued}); retry later"));
            }

            var waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lane.Waiting.AddLast((captureId, waiter));
            return new Ticket(waiter.Task, lane.Running);
        }
    }

    /// <summary>The capture running on <paramref name="rack"/>, or null.</summary>
    public string? RunningOn(string rack)
    {
        lock (_lock)
        {
            return _lanes.TryGetValue(rack, out Lane? lane) ? lane.Running : null;
        }
    }

    /// <summary>
    /// Leaves the lane: the running capture hands the rack to the next waiter; a waiting capture (cancelled) leaves
    /// the queue and its ticket is cancelled.
    /// </summary>
    public void Release(string rack, string captureId)
    {
        lock (_lock)
        {
            if (!_lanes.TryGetValue(rack, out Lane? lane))
            {
                return;
            }

            if (lane.Running == captureId)
            {
                if (lane.Waiting.First is { } next)
                {
                    lane.Waiting.RemoveFirst();
                    lane.Running = next.Value.CaptureId;
                    next.Value.Waiter.TrySetResult();
                }
                else
                {
                    lane.Running = null;
                    _lanes.Remove(rack);
                }

                return;
            }

            for (var node = lane.Waiting.First; node is not null; node = node.Next)
            {
                if (node.Value.CaptureId == captureId)
                {
                    lane.Waiting.Remove(node);
                    node.Value.Waiter.TrySetCanceled();
                    return;
                }
            }
        }
    }

    private sealed class Lane
    {
        public string? Running { get; set; }

        public LinkedList<(string CaptureId, TaskCompletionSource Waiter)> Waiting { get; } = new();
    }
}
