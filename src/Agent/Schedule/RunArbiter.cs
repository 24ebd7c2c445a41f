using Millisampler.Agent.Clock;
using Millisampler.Agent.Sampling;
using Millisampler.Agent.Storage;
using Millisampler.Common.Text;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;
using Millisampler.ServiceDefaults;

namespace Millisampler.Agent.Schedule;

/// <summary>
/// Owns the one set of kernel bins: decides which run is armed when, records it, stores it.
/// </summary>
/// <remarks>
/// <para>Coordinator runs are accepted if they do not come within <see cref="RunLimits.MinArmMarginNs"/> of another
/// coordinator run; each is armed <see cref="RunLimits.ArmLeadNs"/> before its start (at once when accepted closer)
/// and pinned in the store until fetched.</para>
/// <para>Local runs of the continuous schedule yield: one that would overlap an accepted coordinator run is skipped;
/// one still recording when a newly accepted coordinator run must be armed is cut short at that moment. Either way
/// its record says which coordinator run took the sampler.</para>
/// <para>Stopping the agent cuts the armed run short and stores it; runs not armed yet are stored as failed.</para>
/// <para>Every run accounted for: each run is marked armed in the store (<see cref="RunStore.MarkArmedAsync"/>) while
/// it waits and records; a marker left by a killed agent becomes a LOST record at the next start. A run the store
/// refused (a full disk) stays here, listed and served with a detail saying so, and is saved again after the next run
/// is stored; should the agent stop first, its marker makes it a LOST record at restart.</para>
/// <para>All waiting goes through the injected <see cref="TimeProvider"/> and <see cref="HostClock"/>, so tests run it on a fake clock.</para>
/// </remarks>
internal sealed partial class RunArbiter : IHostedService, IDisposable
{
    private readonly IRunEngine _engine;
    private readonly HostClock _clock;
    private readonly TimeProvider _time;
    private readonly HostIdentity _identity;
    private readonly RunStore _store;
    private readonly bool _requireSynchronizedClock;
    private readonly ILogger<RunArbiter> _logger;
    private readonly Lock _sync = new();
    private readonly Dictionary<string, CoordinatorRun> _runs = new(StringComparer.Ordinal);
    private readonly HashSet<Task> _inFlight = [];
    private readonly SemaphoreSlim _lane = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenRegistration _onStopping;
    private readonly Dictionary<string, (Run Run, string Detail)> _unstored = new(StringComparer.Ordinal);

    /// <summary>Runs a coordinator said it will not fetch (ReleaseRun): never pinned again. Guarded by <see cref="_sync"/>; bounded by <see cref="MaxReleasedRemembered"/>.</summary>
    private readonly HashSet<string> _released = new(StringComparer.Ordinal);
    private LocalRun? _local;
    private int _disposed;

    public RunArbiter(IRunEngine engine, HostClock clock, TimeProvider time, HostIdentity identity, RunStore store,
        RunLimits limits, bool requireSynchronizedClock, ILogger<RunArbiter> logger, IHostApplicationLifetime? lifetime = null)
    {
        _engine = engine;
        _clock = clock;
        _time = time;
        _identity = identity;
        _store = store;
        _requireSynchronizedClock = requireSynchronizedClock;
        _logger = logger;
        Limits = limits with { MaxBins = Math.Min(limits.MaxBins, engine.MaxBins) };
        // Stop at the first signal, before Kestrel drains requests: GetRun callers waiting on a run get it cut short
        // at once instead of holding the shutdown until their deadline.
        if (lifetime is not null)
        {
            _onStopping = lifetime.ApplicationStopping.Register(() => _stopping.Cancel());
        }
    }

    /// <summary>What a run may ask for here.</summary>
    public RunLimits Limits { get; }

    /// <summary>The engine's description (attach mode, clock, CPUs).</summary>
    public IRunEngine Engine => _engine;

    /// <summary>The clock state now, as runs record it.</summary>
    public ClockState ReadClock() => _clock.ReadState(_engine.ClockSource);

    /// <summary>
    /// Accepts or refuses a coordinator run. The same run id with the same start, width and bins is the same
    /// run (Duplicate); with other parameters it is refused.
    /// </summary>
    /// <param name="request">The request as received.</param>
    /// <param name="receivedTimestamp"><see cref="TimeProvider.GetTimestamp"/> when it arrived, to measure the time to arm.</param>
    /// <param name="cancellationToken">The caller's.</param>
    public async Task<ScheduleDecision> ScheduleAsync(ScheduleRunRequest request, long receivedTimestamp, CancellationToken cancellationToken)
    {
        if (ScheduleRunRules.CheckFields(request, Limits) is { } fieldError)
        {
            return Reject(request, ScheduleRejection.InvalidArgument, fieldError);
        }

        var clock = ReadClock();
        if (FindDuplicate(request) is { } known)
        {
            return known;
        }

        var stored = await _store.TryGetAsync(request.RunId, cancellationToken).ConfigureAwait(false);
        if (stored is not null)
        {
            return stored.Origin == RunOrigin.Coordinator && stored.StartTaiNs == request.StartTaiNs
                && stored.BinWidthNs == request.BinWidthNs && stored.Bins == request.Bins
                ? ScheduleDecision.Accept(duplicate: true, stored.ClockAtArm ?? clock)
                : Reject(request, ScheduleRejection.AlreadyExists,
                    $"run_id '{request.RunId}' is taken by a stored {Describe(stored.Origin)} run (start {stored.StartTaiNs}, {stored.Bins} x {DurationText.Format(stored.BinWidthNs)}); choose another id");
        }

        if (_requireSynchronizedClock && !clock.Synchronized)
        {
            return Reject(request, ScheduleRejection.FailedPrecondition,
                "the host clock is not synchronized (adjtimex reports STA_UNSYNC), so its bins would not line up with other hosts'; " +
                "start chrony or ptp4l, or set Agent:RequireSynchronizedClock=false");
        }

        long now = _clock.NowTaiNs();
        if (ScheduleRunRules.CheckTiming(request.StartTaiNs, now, Limits) is { } timingError)
        {
            return Reject(request, ScheduleRejection.FailedPrecondition, timingError);
        }

        CoordinatorRun entry;
        lock (_sync)
        {
            if (_stopping.IsCancellationRequested)
            {
                return Reject(request, ScheduleRejection.Unavailable, "the agent is shutting down; schedule on another host or retry after it restarts");
            }

            if (FindDuplicateLocked(request) is { } raced)
            {
                return raced;
            }

            if (PinQuotaErrorLocked() is { } quotaError)
            {
                return Reject(request, ScheduleRejection.ResourceExhausted, quotaError);
            }

            long end = request.StartTaiNs + (request.BinWidthNs * request.Bins);
            foreach (var other in _runs.Values)
            {
                if (!other.Finished && ScheduleRunRules.Overlaps(request.StartTaiNs, end, other.Request.StartTaiNs, other.Request.EndTaiNs, Limits.MinArmMarginNs))
                {
                    return Reject(request, ScheduleRejection.Aborted,
                        $"overlaps coordinator run '{other.Request.RunId}' (from {Requester(other.Requester)}, TAI {other.Request.StartTaiNs}..{other.Request.EndTaiNs} ns); " +
                        $"runs need {ScheduleRunRules.Ms(Limits.MinArmMarginNs)} ms between them, and the kernel holds one run at a time");
                }
            }

            var runRequest = new RunRequest(request.RunId, request.StartTaiNs, request.BinWidthNs, request.Bins, RunOrigin.Coordinator);
            long armAt = Math.Max(now, request.StartTaiNs - Limits.ArmLeadNs);
            entry = new CoordinatorRun(runRequest, request.Requester, armAt, receivedTimestamp, armedAtOnce: armAt == now, _stopping.Token);
            _runs.Add(request.RunId, entry);
            PreemptLocalLocked(entry);
            Track(Task.Run(() => RecordCoordinatorRunAsync(entry)));
        }

        Log.Accepted(_logger, request.RunId, Requester(request.Requester), request.StartTaiNs, ScheduleRunRules.Ms(request.StartTaiNs - now),
            request.Bins, DurationText.Format(request.BinWidthNs));
        return ScheduleDecision.Accept(duplicate: false, clock);
    }

    /// <summary>
    /// The run with this id once it is complete: waits for a coordinator or local run still ahead or recording,
    /// reads stored runs from the store. Null when there is no such run. Throws <see cref="OperationCanceledException"/>
    /// when <paramref name="cancellationToken"/> fires first.
    /// </summary>
    public async Task<Run?> GetRunAsync(string runId, CancellationToken cancellationToken)
    {
        Task<Run>? pending = null;
        lock (_sync)
        {
            if (_runs.TryGetValue(runId, out var entry))
            {
                pending = entry.Completion;
            }
            else if (_local is { } local && local.Request.RunId == runId)
            {
                pending = local.Completion;
            }
            else if (_unstored.TryGetValue(runId, out var unstored))
            {
                return unstored.Run.Clone();
            }
        }

        if (pending is not null)
        {
            return await pending.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        return await _store.TryGetAsync(runId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Most released run ids remembered so a pin set after the release is skipped; beyond it the set restarts (a late pin then lapses on its own).</summary>
    internal const int MaxReleasedRemembered = 4096;

    /// <summary>
    /// A coordinator will not fetch this run (its capture was interrupted): drops the pin now and skips the pin a
    /// run still to start would set. The run still records and stays readable until retention deletes it.
    /// </summary>
    /// <returns>True when the run was pinned or is still to be recorded here.</returns>
    public async Task<bool> ReleaseAsync(string runId, string requester, CancellationToken cancellationToken)
    {
        bool pending;
        lock (_sync)
        {
            pending = _runs.TryGetValue(runId, out CoordinatorRun? entry) && !entry.Finished;
            if (_released.Count >= MaxReleasedRemembered)
            {
                _released.Clear();
            }

            _released.Add(runId);
        }

        bool wasPinned = _store.IsPinned(runId);
        if (wasPinned)
        {
            await _store.UnpinAsync(runId, cancellationToken).ConfigureAwait(false);
        }

        Log.RunReleased(_logger, runId, requester, wasPinned);
        return wasPinned || pending;
    }

    /// <summary>Records that a coordinator fetched its run (or a look-back window it read): retention may delete it again.</summary>
    public async Task MarkFetchedAsync(Run run, CancellationToken cancellationToken)
    {
        if (run.Origin is not (RunOrigin.Coordinator or RunOrigin.Lookback) || !_store.IsPinned(run.RunId))
        {
            return;
        }

        try
        {
            await _store.UnpinAsync(run.RunId, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.PinFailed(_logger, run.RunId, e);
        }
    }

    /// <summary>
    /// Records one local run of <paramref name="bins"/> × <paramref name="binWidthNs"/> starting
    /// <paramref name="startLeadNs"/> from now (aligned to the bin width), and stores it. Skipped (status FAILED)
    /// when it would overlap an accepted coordinator run; cut short when a coordinator run accepted meanwhile needs
    /// the sampler. Throws <see cref="OperationCanceledException"/> only when <paramref name="cancellationToken"/> fired before anything was planned.
    /// </summary>
    public async Task<Run> RecordLocalAsync(long binWidthNs, uint bins, long startLeadNs, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        long now = _clock.NowTaiNs();
        long start = ScheduleRunRules.AlignUp(now + startLeadNs, binWidthNs);
        var request = new RunRequest($"schedule-{DurationText.FormatExact(binWidthNs)}-{start}", start, binWidthNs, bins, RunOrigin.Schedule);
        LocalRun? local = null;
        string? skipped = null;
        lock (_sync)
        {
            if (_stopping.IsCancellationRequested)
            {
                throw new OperationCanceledException("The agent is stopping.", _stopping.Token);
            }

            var conflict = _runs.Values
                .Where(c => !c.Finished && ScheduleRunRules.Overlaps(now, request.EndTaiNs, c.ArmAtTai, c.Request.EndTaiNs, Limits.MinArmMarginNs))
                .MinBy(c => c.Request.StartTaiNs);
            if (conflict is not null)
            {
                skipped = $"skipped: {Holder(conflict)}";
            }
            else
            {
                _local = local = new LocalRun(request, now, _time, cancellationToken, _stopping.Token);
            }
        }

        if (skipped is not null)
        {
            Observability.LocalRunsPreempted.Add(1, new KeyValuePair<string, object?>("kind", "skipped"));
            var record = NotRecorded(request, skipped);
            Log.LocalSkipped(_logger, request.RunId, skipped);
            await EndAsync(record).ConfigureAwait(false);
            return record;
        }

        var active = local!;
        using var activity = StartRunActivity(request, "schedule");
        var armed = MarkArmedAsync(request);
        Run run;
        try
        {
            await _lane.WaitAsync(active.Token).ConfigureAwait(false);
            try
            {
                run = await _engine.RecordAsync(request, active.Token).ConfigureAwait(false);
            }
            finally
            {
                _lane.Release();
            }
            if (run.Status == RunStatus.CutShort)
            {
                run.StatusDetail = active.CutReason is { } reason ? $"cut short: {reason}" : "cut short: the agent stopped";
            }
        }
        catch (OperationCanceledException) when (active.Token.IsCancellationRequested)
        {
            run = NotRecorded(request, active.CutReason is { } reason ? $"skipped: {reason}" : "the agent stopped before the run was armed");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A failed run must not stop the schedule: it is recorded as failed and the next one is tried.
            Log.RecordFailed(_logger, request.RunId, e);
            run = NotRecorded(request, $"recording failed: {e.Message}");
        }

        if (active.CutReason is not null)
        {
            Observability.LocalRunsPreempted.Add(1, new KeyValuePair<string, object?>("kind", run.Status == RunStatus.CutShort ? "cut_short" : "skipped"));
        }

        await armed.ConfigureAwait(false);
        await EndAsync(run).ConfigureAwait(false);
        lock (_sync)
        {
            // Cleared only once stored, so GetRun finds the run either here or in the store.
            if (_local == active)
            {
                _local = null;
            }
        }
        active.Complete(run);
        active.Dispose();
        return run;
    }

    /// <summary>Summaries of runs recorded but not stored (the store refused them), matching a ListRuns filter.</summary>
    public IReadOnlyList<RunSummary> UnstoredSummaries(long fromTaiNs, long toTaiNs, long binWidthNs)
    {
        lock (_sync)
        {
            return [.. _unstored.Values.Select(u => u.Run)
                .Where(r => (fromTaiNs == 0 || r.StartTaiNs >= fromTaiNs) && (toTaiNs == 0 || r.StartTaiNs < toTaiNs)
                    && (binWidthNs == 0 || r.BinWidthNs == binWidthNs))
                .Select(RunFileFormat.Summarize)];
        }
    }

    /// <summary>Records every run a previous process marked armed and never stored as LOST, with its window.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (RunSummary armed in _store.LeftoverArmed)
        {
            var request = new RunRequest(armed.RunId, armed.StartTaiNs, armed.BinWidthNs, armed.Bins, armed.Origin);
            Run lost = NotRecorded(request,
                $"lost: the agent stopped (killed, crashed or lost power) or could not store the run before it was stored; " +
                $"nothing of it was recorded; found at the restart at {_time.GetUtcNow():yyyy-MM-ddTHH:mm:ssZ}");
            lost.Status = RunStatus.Lost;
            Log.RunLost(_logger, armed.RunId, armed.StartTaiNs, armed.Bins, DurationText.Format(armed.BinWidthNs));
            await EndAsync(lost).ConfigureAwait(false);
        }
    }

    /// <summary>Cuts the armed run short, fails runs not armed yet, and waits until every one is stored.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        Task[] inFlight;
        lock (_sync)
        {
            inFlight = [.. _inFlight];
        }
        try
        {
            await Task.WhenAll(inFlight).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Log.StopTimedOut(_logger, inFlight.Count(t => !t.IsCompleted));
        }
    }

    /// <summary>Idempotent: the container disposes the instance once as itself and once as a hosted service.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _onStopping.Dispose();
        _stopping.Cancel();
        _stopping.Dispose();
    }

    private async Task RecordCoordinatorRunAsync(CoordinatorRun entry)
    {
        var request = entry.Request;
        using var activity = StartRunActivity(request, entry.Requester);
        // The pin's fsync runs while the run is armed and recording, not before: it must only precede the save.
        var pin = PinAsync(request.RunId);
        var armed = MarkArmedAsync(request);
        Run run;
        try
        {
            await DelayUntilTaiAsync(entry.ArmAtTai, entry.Token).ConfigureAwait(false);
            await _lane.WaitAsync(entry.Token).ConfigureAwait(false);
            try
            {
                run = await _engine.RecordAsync(request, entry.Token, () => OnArmed(entry)).ConfigureAwait(false);
            }
            finally
            {
                _lane.Release();
            }
            if (run.Status == RunStatus.CutShort)
            {
                run.StatusDetail = "cut short: the agent stopped";
            }
        }
        catch (OperationCanceledException) when (entry.Token.IsCancellationRequested)
        {
            run = NotRecorded(request, "the agent stopped before the run was armed");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.RecordFailed(_logger, request.RunId, e);
            run = NotRecorded(request, $"recording failed: {e.Message}");
        }

        await pin.ConfigureAwait(false);
        await armed.ConfigureAwait(false);
        bool stored = await EndAsync(run).ConfigureAwait(false);
        lock (_sync)
        {
            entry.Finished = true;
            // Stored runs are served from the store; one that could not be stored stays here so GetRun still finds it.
            if (stored)
            {
                _runs.Remove(request.RunId);
            }
        }
        entry.Complete(run);
    }

    private void OnArmed(CoordinatorRun entry)
    {
        var delay = _time.GetElapsedTime(entry.ReceivedTimestamp);
        long leadNs = entry.Request.StartTaiNs - _clock.NowTaiNs();
        if (entry.ArmedAtOnce)
        {
            Observability.ArmDelay.Record(delay.TotalSeconds);
        }

        Log.Armed(_logger, entry.Request.RunId, (long)(delay.Ticks / 10), leadNs / 1000);
    }

    /// <summary>Cuts the current local run short (or skips it) where it would hold the sampler when <paramref name="run"/> must be armed.</summary>
    private void PreemptLocalLocked(CoordinatorRun run)
    {
        if (_local is not { } local || !ScheduleRunRules.Overlaps(local.PlannedAtTai, local.Request.EndTaiNs, run.ArmAtTai, run.Request.EndTaiNs, Limits.MinArmMarginNs))
        {
            return;
        }

        long cutAt = run.ArmAtTai <= local.Request.StartTaiNs ? _clock.NowTaiNs() : run.ArmAtTai;
        long delayNs = Math.Max(0, cutAt - _clock.NowTaiNs());
        local.Preempt(Holder(run), cutAt, TimeNs.ToTimeSpan(delayNs));
        Log.LocalPreempted(_logger, local.Request.RunId, run.Request.RunId, cutAt);
    }

    /// <summary>One span per recorded run, from planning or acceptance until it is stored.</summary>
    private static System.Diagnostics.Activity? StartRunActivity(RunRequest request, string requester) =>
        Observability.ActivitySource.StartActivity("millisampler.agent.run")?
            .SetTag("millisampler.run_id", request.RunId)
            .SetTag("millisampler.origin", request.Origin.ToString())
            .SetTag("millisampler.requester", requester)
            .SetTag("millisampler.start_tai_ns", request.StartTaiNs)
            .SetTag("millisampler.bin_width_ns", request.BinWidthNs)
            .SetTag("millisampler.bins", request.Bins);

    private async Task<bool> EndAsync(Run run)
    {
        System.Diagnostics.Activity.Current?.SetTag("millisampler.status", run.Status.ToString()).SetTag("millisampler.bins_recorded", run.BinsRecorded);
        Observability.RunsEnded.Add(1, new KeyValuePair<string, object?>("origin", TelemetryLabels.Snake(run.Origin)), new KeyValuePair<string, object?>("outcome", TelemetryLabels.Snake(run.Status)));
        Log.RunEnded(_logger, run.RunId, run.Origin, run.Status, run.BinsRecorded, run.Bins, run.StatusDetail);
        if (!await TrySaveAsync(run).ConfigureAwait(false))
        {
            return false;
        }

        // Space may have come back: runs the store refused earlier get another try.
        Run[] retry;
        lock (_sync)
        {
            retry = [.. _unstored.Values.Select(u => u.Run)];
        }

        foreach (Run earlier in retry)
        {
            await TrySaveAsync(earlier).ConfigureAwait(false);
        }

        return true;
    }

    /// <summary>Saves <paramref name="run"/>; when the store refuses it, keeps it in <see cref="_unstored"/> with a detail saying so.</summary>
    private async Task<bool> TrySaveAsync(Run run)
    {
        Run toSave = run;
        lock (_sync)
        {
            if (_unstored.TryGetValue(run.RunId, out var held))
            {
                // Stored with the detail it had before the store refused it.
                toSave = run.Clone();
                toSave.StatusDetail = held.Detail;
            }
        }

        try
        {
            // Not cancellable: a run cut short by shutdown is exactly the one that must reach the disk.
            await _store.SaveAsync(toSave, CancellationToken.None).ConfigureAwait(false);
            lock (_sync)
            {
                if (_unstored.Remove(run.RunId) && _runs.TryGetValue(run.RunId, out var entry) && entry.Finished)
                {
                    // A coordinator run kept here only because it was not stored is served from the store now.
                    _runs.Remove(run.RunId);
                }
            }

            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or ObjectDisposedException)
        {
            Log.StoreFailed(_logger, run.RunId, e);
            lock (_sync)
            {
                if (!_unstored.ContainsKey(run.RunId))
                {
                    string detail = run.StatusDetail;
                    run.StatusDetail = $"NOT STORED ({e.Message}); held in memory and saved again after the next run is stored, " +
                        "recorded as lost if the agent stops first" + (run.StatusDetail.Length > 0 ? "; " + run.StatusDetail : "");
                    _unstored[run.RunId] = (run, detail);
                }
            }

            return false;
        }
    }

    /// <summary>Marks the run armed in the store, so a kill before it is stored leaves its window behind.</summary>
    private async Task MarkArmedAsync(RunRequest request)
    {
        try
        {
            var summary = new RunSummary
            {
                RunId = request.RunId,
                Origin = request.Origin,
                StartTaiNs = request.StartTaiNs,
                BinWidthNs = request.BinWidthNs,
                Bins = request.Bins,
                Status = RunStatus.Scheduled,
            };
            await _store.MarkArmedAsync(summary, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            Log.ArmedMarkFailed(_logger, request.RunId, e);
        }
    }

    private async Task PinAsync(string runId)
    {
        lock (_sync)
        {
            if (_released.Contains(runId))
            {
                return;
            }
        }

        try
        {
            await _store.PinAsync(runId, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            Log.PinFailed(_logger, runId, e);
        }
    }

    private async Task DelayUntilTaiAsync(long taiNs, CancellationToken cancellationToken)
    {
        long waitNs = taiNs - _clock.NowTaiNs();
        if (waitNs > 0)
        {
            await Task.Delay(TimeNs.ToTimeSpan(waitNs), _time, cancellationToken).ConfigureAwait(false);
        }

        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <summary>
    /// Why one more coordinator run would exceed the pin cap; null when it fits. Counts runs accepted and not yet
    /// stored plus stored runs whose pin has not lapsed, so unfetched runs cannot fill the disk.
    /// </summary>
    private string? PinQuotaErrorLocked()
    {
        var held = new HashSet<string>(_store.PinnedRunIds(), StringComparer.Ordinal);
        held.UnionWith(_runs.Keys);
        var o = _store.Options;
        if (held.Count < o.MaxPinnedRuns)
        {
            return null;
        }

        return $"{held.Count} coordinator runs are held here unfetched, the most allowed (Agent:RunStore:MaxPinnedRuns = {o.MaxPinnedRuns}); " +
            $"fetch them with GetRun, or retry after their pins lapse ({o.PinExpiryMinutes} min, Agent:RunStore:PinExpiryMinutes)";
    }

    private ScheduleDecision? FindDuplicate(ScheduleRunRequest request)
    {
        lock (_sync)
        {
            return FindDuplicateLocked(request);
        }
    }

    private ScheduleDecision? FindDuplicateLocked(ScheduleRunRequest request)
    {
        if (!_runs.TryGetValue(request.RunId, out var known))
        {
            return null;
        }

        var k = known.Request;
        if (k.StartTaiNs == request.StartTaiNs && k.BinWidthNs == request.BinWidthNs && k.Bins == request.Bins)
        {
            return ScheduleDecision.Accept(duplicate: true, ReadClock());
        }

        return Reject(request, ScheduleRejection.AlreadyExists,
            $"run_id '{request.RunId}' was already accepted with start_tai_ns {k.StartTaiNs}, bin_width_ns {k.BinWidthNs}, bins {k.Bins}; " +
            "a retry must send the same values, a new run needs a new id");
    }

    private ScheduleDecision Reject(ScheduleRunRequest request, ScheduleRejection rejection, string message)
    {
        Observability.ScheduleRejected.Add(1, new KeyValuePair<string, object?>("reason", TelemetryLabels.Snake(rejection.ToString())));
        Log.Rejected(_logger, request.RunId, Requester(request.Requester), rejection, message);
        return ScheduleDecision.Reject(rejection, message);
    }

    private Run NotRecorded(RunRequest request, string detail)
    {
        var run = request.NewRecord(_identity);
        run.BinsRecorded = 0;
        run.ClockAtArm = ReadClock();
        run.Status = RunStatus.Failed;
        run.StatusDetail = detail;
        run.Series = new RunSeries();
        run.CpuCount = _engine.CpuCount;
        run.AttachMode = _engine.AttachMode;
        run.RecordedAtUnixNs = _time.UnixNowNs();
        return run;
    }

    private void Track(Task task)
    {
        _inFlight.Add(task);
        task.ContinueWith(t =>
        {
            lock (_sync)
            {
                _inFlight.Remove(t);
            }
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private static string Holder(CoordinatorRun run) =>
        $"coordinator run '{run.Request.RunId}' (from {Requester(run.Requester)}) holds the sampler from TAI {run.ArmAtTai} to {run.Request.EndTaiNs} ns";

    private static string Requester(string requester) => string.IsNullOrEmpty(requester) ? "an unnamed requester" : requester;

    private static string Describe(RunOrigin origin) => origin switch
    {
        RunOrigin.Coordinator => "coordinator",
        RunOrigin.Schedule => "continuous-schedule",
        RunOrigin.Local => "local",
        RunOrigin.Lookback => "look-back",
        _ => "unknown-origin",
    };

    /// <summary>An accepted coordinator run until it is stored.</summary>
    private sealed class CoordinatorRun(RunRequest request, string requester, long armAtTai, long receivedTimestamp, bool armedAtOnce, CancellationToken token)
    {
        private readonly TaskCompletionSource<Run> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public RunRequest Request { get; } = request;
        public string Requester { get; } = requester;
        public long ArmAtTai { get; } = armAtTai;
        public long ReceivedTimestamp { get; } = receivedTimestamp;
        public bool ArmedAtOnce { get; } = armedAtOnce;
        public CancellationToken Token { get; } = token;

        /// <summary>Recorded (or failed); guarded by the coordinator's lock.</summary>
        public bool Finished { get; set; }

        public Task<Run> Completion => _completion.Task;

        public void Complete(Run run) => _completion.TrySetResult(run);
    }

    /// <summary>The continuous schedule's run in progress: planned, armed or recording.</summary>
    private sealed class LocalRun : IDisposable
    {
        private readonly CancellationTokenSource _preempt;
        private readonly CancellationTokenSource _linked;
        private readonly TaskCompletionSource<Run> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private long _cutAtTai = long.MaxValue;

        public LocalRun(RunRequest request, long plannedAtTai, TimeProvider time, CancellationToken caller, CancellationToken stopping)
        {
            Request = request;
            PlannedAtTai = plannedAtTai;
            // Built on the injected TimeProvider so a scheduled cut fires on the fake clock in tests.
            _preempt = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
            _linked = CancellationTokenSource.CreateLinkedTokenSource(caller, stopping, _preempt.Token);
        }

        public RunRequest Request { get; }
        /// <summary>From this TAI instant on the run holds (or waits for) the sampler, ns.</summary>
        public long PlannedAtTai { get; }
        public CancellationToken Token => _linked.Token;
        public Task<Run> Completion => _completion.Task;

        /// <summary>Which coordinator run took the sampler; null unless pre-empted. Guarded by the coordinator's lock.</summary>
        public string? CutReason { get; private set; }

        /// <summary>Cancels the run after <paramref name="delay"/> (at once when zero); an earlier cut wins.</summary>
        public void Preempt(string reason, long cutAtTai, TimeSpan delay)
        {
            if (cutAtTai >= _cutAtTai)
            {
                return;
            }

            _cutAtTai = cutAtTai;
            CutReason = reason;
            // CancelAsync: the cut run's read-out must not execute inline under the coordinator's lock.
            if (delay <= TimeSpan.Zero)
            {
                _ = _preempt.CancelAsync();
            }
            else
            {
                _preempt.CancelAfter(delay);
            }
        }

        public void Complete(Run run) => _completion.TrySetResult(run);

        public void Dispose()
        {
            _linked.Dispose();
            _preempt.Dispose();
        }
    }
}
