using Millisampler.Contracts.V1;

namespace Millisampler.Coordinator.Captures;

/// <summary>
/// The live state of one capture while it runs: the Capture message, changed under a lock, plus a signal that
/// wakes watchers on every change. Watchers read snapshots, so a slow watcher skips intermediate states but
/// always sees the latest one.
/// </summary>
internal sealed class CaptureRecord
{
    private readonly Lock _lock = new();
    private readonly Capture _capture;
    private readonly Dictionary<string, HostOutcome> _hosts = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource _armed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _version;

    public CaptureRecord(CapturePlan plan, string captureId, long requestedAtUnixNs)
    {
        Plan = plan;
        _capture = new Capture
        {
            CaptureId = captureId,
            Rack = plan.Rack,
            State = CaptureState.Queued,
            BinWidthNs = plan.BinWidthNs,
            Bins = plan.Bins,
            RequestedAtUnixNs = requestedAtUnixNs,
            HostsRequested = (uint)plan.Hosts.Count,
            Window = plan.Window,
            InstantTaiNs = plan.InstantTaiNs,
        };
        foreach (string host in plan.Hosts)
        {
            var outcome = new HostOutcome { Host = host, Outcome = HostOutcomeKind.HostOutcomePending };
            _hosts.Add(host, outcome);
            _capture.Hosts.Add(outcome);
        }
    }

    public CapturePlan Plan { get; }

    /// <summary>Records who asked (authenticated identity) and why: an engineer, or the sweep or trigger named <paramref name="originName"/>.</summary>
    public void SetRequester(string requestedBy, CaptureOrigin origin, string originName)
    {
        lock (_lock)
        {
            _capture.RequestedBy = requestedBy;
            _capture.Origin = origin;
            _capture.OriginName = originName;
        }
    }

    /// <summary>True once the final state is in the store; until then reads must come from this record.</summary>
    public bool Persisted { get; set; }

    public string Id => _capture.CaptureId;

    /// <summary>Completes once every host answered ScheduleRun (or could not), or the capture ended before that.</summary>
    public Task Armed => _armed.Task;

    public CaptureState State
    {
        get
        {
            lock (_lock)
            {
                return _capture.State;
            }
        }
    }

    public static bool IsTerminal(CaptureState s) => s is CaptureState.Analysed or CaptureState.Failed;

    /// <summary>A deep copy of the capture as it stands.</summary>
    public Capture Snapshot()
    {
        lock (_lock)
        {
            return _capture.Clone();
        }
    }

    /// <summary>The progress message for watchers, and the version it corresponds to.</summary>
    public (CaptureProgress Progress, long Version, bool Terminal) Progress()
    {
        lock (_lock)
        {
            var p = new CaptureProgress
            {
                CaptureId = _capture.CaptureId,
                State = _capture.State,
                StartTaiNs = _capture.StartTaiNs,
                Detail = _capture.Detail,
            };
            foreach (HostOutcome h in _capture.Hosts)
            {
                p.Hosts.Add(new HostProgress { Host = h.Host, Outcome = h.Outcome, Reason = h.Reason });
            }

            return (p, _version, IsTerminal(_capture.State));
        }
    }

    /// <summary>Completes when the version moves past <paramref name="seenVersion"/>.</summary>
    public Task WaitForChangeAsync(long seenVersion, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return _version != seenVersion ? Task.CompletedTask : _changed.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Changes the capture under the lock and wakes watchers.</summary>
    public void Update(Action<Capture> change)
    {
        TaskCompletionSource wake;
        lock (_lock)
        {
            change(_capture);
            _version++;
            wake = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        wake.TrySetResult();
    }

    /// <summary>Changes one host's outcome under the lock and wakes watchers.</summary>
    public void UpdateHost(string host, Action<HostOutcome> change) => Update(_ => change(_hosts[host]));

    /// <summary>Reads something under the lock.</summary>
    public T Read<T>(Func<Capture, T> read)
    {
        lock (_lock)
        {
            return read(_capture);
        }
    }

    public void MarkArmed() => _armed.TrySetResult();
}
