using System.Diagnostics;
using Microsoft.Extensions.Options;
using Millisampler.Analysis;
using Millisampler.Common.Text;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Membership;
using Millisampler.Coordinator.Storage;
using Millisampler.ServiceDefaults;

namespace Millisampler.Coordinator.Captures;

/// <summary>
/// Runs one capture from start to end: wait for the rack, choose the start instant, arm every host, wait out the
/// run, fetch and merge the runs, analyse, store. Every step is bounded in time, so a capture always ends, and
/// every host that did not contribute is named with its reason.
/// </summary>
internal sealed partial class CaptureRunner
{
    private readonly MembershipRegistry _registry;
    private readonly RunScheduler _scheduler;
    private readonly RunCollector _collector;
    private readonly ICaptureStore _store;
    private readonly IPinReleaseStore _pins;
    private readonly RackLanes _lanes;
    private readonly RackResults _results;
    private readonly TaiClock _clock;
    private readonly TimeProvider _time;
    private readonly CaptureOptions _options;
    private readonly string _coordinatorId;
    private readonly ILogger<CaptureRunner> _logger;

    public CaptureRunner(MembershipRegistry registry, RunScheduler scheduler, RunCollector collector, ICaptureStore store,
        IPinReleaseStore pins, RackLanes lanes, TaiClock clock, TimeProvider time, IOptions<CaptureOptions> options,
        IOptions<MembershipOptions> membership, RackResults results, ILogger<CaptureRunner> logger)
    {
        _results = results;
        _registry = registry;
        _scheduler = scheduler;
        _collector = collector;
        _store = store;
        _pins = pins;
        _lanes = lanes;
        _clock = clock;
        _time = time;
        _options = options.Value;
        _coordinatorId = membership.Value.EffectiveCoordinatorId;
        _logger = logger;
    }

    /// <summary>Runs the capture to its end; never throws. Releases the rack when done.</summary>
    public async Task RunAsync(CaptureRecord record, RackLanes.Ticket ticket, CancellationToken cancellationToken)
    {
        CapturePlan plan = record.Plan;
        using Activity? activity = Observability.ActivitySource.StartActivity("Capture");
        activity?.SetTag("millisampler.capture_id", record.Id);
        activity?.SetTag("millisampler.rack", plan.Rack);
        try
        {
            await ticket.Entered.WaitAsync(cancellationToken).ConfigureAwait(false);
            await RunStepsAsync(record, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await FailAsync(record, "the coordinator stopped before this capture completed", CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogCaptureCrashed(_logger, ex, record.Id);
            await FailAsync(record, $"internal error: {ex.Message}", CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            record.MarkArmed();

            // Normally released already (CompleteAsync); releasing again is a no-op.
            _lanes.Release(plan.Rack, record.Id);
            CaptureState final = record.State;
            Observability.CapturesEnded.Add(1,
                new KeyValuePair<string, object?>("outcome", TelemetryLabels.Snake(final)),
                new KeyValuePair<string, object?>("origin", TelemetryLabels.Snake(record.Read(c => c.Origin))));
            activity?.SetTag("millisampler.state", final.ToString());
        }
    }

    private Task RunStepsAsync(CaptureRecord record, CancellationToken ct) =>
        record.Plan.IsWindow ? RunWindowStepsAsync(record, ct) : RunForwardStepsAsync(record, ct);

    /// <summary>The hosts still registered in the plan's rack, read now (a queued capture may start long after it was asked for).</summary>
    private (List<AgentTarget> Targets, Dictionary<string, HostState> States) ResolveTargets(CaptureRecord record)
    {
        CapturePlan plan = record.Plan;
        var targets = new List<AgentTarget>();
        var states = new Dictionary<string, HostState>(StringComparer.Ordinal);
        foreach (string host in plan.Hosts)
        {
            if (_registry.Find(host) is { } state && state.Rack == plan.Rack)
            {
                targets.Add(new AgentTarget(host, state.Address));
                states.Add(host, state);
            }
            else
            {
                record.UpdateHost(host, h => Set(h, HostOutcomeKind.HostOutcomeFailed, "no longer registered in this rack when the capture started"));
            }
        }

        return (targets, states);
    }

    /// <summary>
    /// A window of absolute bins read from the agents' look-back rings: nothing is armed. A window that reaches into
    /// the future is read once its end (plus <see cref="CaptureOptions.WindowReadMargin"/>) has passed. A host whose
    /// ring does not hold the window (no ring of that width, too shallow, first bin already overwritten) is named with
    /// the reason and not asked.
    /// </summary>
    private async Task RunWindowStepsAsync(CaptureRecord record, CancellationToken ct)
    {
        CapturePlan plan = record.Plan;
        long w = plan.BinWidthNs;
        (List<AgentTarget> targets, Dictionary<string, HostState> states) = ResolveTargets(record);
        long start = plan.FirstBin * w;
        long end = start + (plan.Bins * w);
        record.Update(c =>
        {
            c.State = CaptureState.Scheduled;
            c.StartTaiNs = start;
        });
        foreach (AgentTarget t in targets)
        {
            ClockOffset? offset = states[t.Host].Offset;
            record.UpdateHost(t.Host, h =>
            {
                Set(h, HostOutcomeKind.HostOutcomeScheduled, "");
                ApplyOffset(h, offset, w);
            });
        }

        record.MarkArmed();
        LogWindowPlanned(_logger, record.Id, plan.Rack, targets.Count, plan.Window, plan.FirstBin, plan.Bins, w);
        await TryUpdateStoreAsync(record, ct).ConfigureAwait(false);
        if (end > _clock.NowNs())
        {
            record.Update(c => c.State = CaptureState.Running);
            await WaitUntilTaiAsync(end + TimeNs.Of(_options.WindowReadMargin), ct).ConfigureAwait(false);
        }

        record.Update(c => c.State = CaptureState.Collecting);
        await TryUpdateStoreAsync(record, ct).ConfigureAwait(false);

        long nowBin = _clock.NowNs() / w;
        var readable = new List<AgentTarget>();
        foreach (AgentTarget t in targets)
        {
            string? missing = RingCoverage.Missing(states[t.Host].Limits, w, plan.FirstBin, plan.Bins, nowBin);
            if (missing is null)
            {
                readable.Add(t);
            }
            else
            {
                record.UpdateHost(t.Host, h => Set(h, HostOutcomeKind.HostOutcomeRefused, "ring does not cover the window: " + missing));
            }
        }

        if (readable.Count == 0)
        {
            await FailAsync(record, "no host's look-back ring covers the window: " + Summarize(record), ct).ConfigureAwait(false);
            return;
        }

        var request = new ReadWindowRequest { RunId = record.Id, FirstBin = plan.FirstBin, Bins = plan.Bins, BinWidthNs = w, Requester = _coordinatorId };
        long collectStarted = _time.GetTimestamp();
        IReadOnlyList<CollectOutcome> collected = await _collector.ReadWindowAllAsync(readable, request,
            o => record.UpdateHost(o.Host, h => Set(h, o.Kind, o.Reason)), ct).ConfigureAwait(false);
        Observability.CollectionDuration.Record(_time.GetElapsedTime(collectStarted).TotalSeconds);
        var read = readable.ToDictionary(t => t.Host, t => new ScheduleOutcome(t.Host, HostOutcomeKind.HostOutcomeScheduled, "", states[t.Host].Clock, 0),
            StringComparer.Ordinal);
        await MergeAnalyseStoreAsync(record, states, read, collected, start, end, ct).ConfigureAwait(false);

        // The window is stored here now; the agents' copies need no pin (a retry of this read is over).
        await OwePinReleasesAsync(record.Id, [.. readable.Select(t => t.Host)]).ConfigureAwait(false);
    }

    /// <summary>Sets the coordinator's own measurement of the host's clock offset on its outcome.</summary>
    private static void ApplyOffset(HostOutcome h, ClockOffset? offset, long binWidthNs)
    {
        h.OffsetMeasured = offset is not null;
        h.MeasuredOffsetNs = offset?.OffsetNs ?? 0;
        h.MeasuredOffsetBoundNs = offset?.BoundNs ?? 0;
        h.OffsetExceedsHalfBin = offset is not null && ClockOffsetEstimator.ExceedsHalfBin(offset.OffsetNs, offset.BoundNs, binWidthNs);
    }

    private async Task RunForwardStepsAsync(CaptureRecord record, CancellationToken ct)
    {
        CapturePlan plan = record.Plan;
        long w = plan.BinWidthNs;
        (List<AgentTarget> targets, Dictionary<string, HostState> states) = ResolveTargets(record);

        long leadNs = plan.LeadTimeNs > 0
            ? plan.LeadTimeNs
            : StartInstantPlanner.DeriveLeadNs(states.Values.Select(s => s.RoundTrip), _options.LeadTimeRttFactor,
                _options.AssumedRoundTrip, _options.LeadTimeFloor, _options.LeadTimeCeiling,
                states.Values.Select(s => s.Limits?.MaxLeadNs ?? 0).Where(v => v > 0).DefaultIfEmpty(0).Min(), w);
        long now = _clock.NowNs();
        long start = StartInstantPlanner.ChooseStart(now, leadNs, w);
        long end = start + (plan.Bins * w);
        Observability.LeadTime.Record((start - now) / 1e9);
        record.Update(c =>
        {
            c.State = CaptureState.Scheduled;
            c.StartTaiNs = start;
        });
        LogCaptureScheduled(_logger, record.Id, plan.Rack, targets.Count, start, (start - now) / 1e6, plan.Bins, w);
        await TryUpdateStoreAsync(record, ct).ConfigureAwait(false);

        var request = new ScheduleRunRequest
        {
            RunId = record.Id,
            StartTaiNs = start,
            BinWidthNs = w,
            Bins = plan.Bins,
            Requester = _coordinatorId,
        };
        long fanOutStarted = _time.GetTimestamp();
        IReadOnlyList<ScheduleOutcome> scheduled = await _scheduler.ScheduleAllAsync(targets, request,
            o => record.UpdateHost(o.Host, h =>
            {
                Set(h, o.Kind, o.Reason);
                if (o.Clock is not null)
                {
                    h.ClockErrorNs = o.Clock.MaxErrorNs;
                }

                if (o.Kind == HostOutcomeKind.HostOutcomeScheduled)
                {
                    // Measured on this ScheduleRun, else the latest GetInfo probe's.
                    ApplyOffset(h, o.Offset ?? _registry.Find(o.Host)?.Offset, w);
                }
            }), ct).ConfigureAwait(false);
        Observability.ScheduleFanOutDuration.Record(_time.GetElapsedTime(fanOutStarted).TotalSeconds);
        record.MarkArmed();

        var armed = scheduled.Where(s => s.Kind == HostOutcomeKind.HostOutcomeScheduled).ToDictionary(s => s.Host, StringComparer.Ordinal);
        if (armed.Count == 0)
        {
            await FailAsync(record, "no host accepted the run: " + Summarize(record), ct).ConfigureAwait(false);
            return;
        }

        await WaitUntilTaiAsync(start, ct).ConfigureAwait(false);
        record.Update(c => c.State = CaptureState.Running);
        await WaitUntilTaiAsync(end + TimeNs.Of(_options.CollectGrace), ct).ConfigureAwait(false);
        record.Update(c => c.State = CaptureState.Collecting);
        await TryUpdateStoreAsync(record, ct).ConfigureAwait(false);

        long collectStarted = _time.GetTimestamp();
        IReadOnlyList<CollectOutcome> collected = await _collector.CollectAllAsync(
            [.. targets.Where(t => armed.ContainsKey(t.Host))], record.Id,
            o => record.UpdateHost(o.Host, h => Set(h, o.Kind, o.Reason)),
            ct).ConfigureAwait(false);

        Observability.CollectionDuration.Record(_time.GetElapsedTime(collectStarted).TotalSeconds);
        await MergeAnalyseStoreAsync(record, states, armed, collected, start, end, ct).ConfigureAwait(false);

        // A host armed but not collected keeps its run pinned for a fetch that will not come.
        await OwePinReleasesAsync(record.Id, [.. collected.Where(c => c.Run is null).Select(c => c.Host)]).ConfigureAwait(false);
    }

    /// <summary>Records that the agents' pins of run <paramref name="runId"/> on <paramref name="hosts"/> are to be released (<see cref="PinReleaser"/>).</summary>
    private async Task OwePinReleasesAsync(string runId, IReadOnlyCollection<string> hosts)
    {
        try
        {
            await _pins.AddPinReleasesAsync(runId, hosts, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Only costs disk on the agents until their pins lapse.
            LogStoreFailed(_logger, ex, runId);
        }
    }

    private async Task MergeAnalyseStoreAsync(CaptureRecord record, IReadOnlyDictionary<string, HostState> states,
        IReadOnlyDictionary<string, ScheduleOutcome> armed, IReadOnlyList<CollectOutcome> collected, long start, long end, CancellationToken ct)
    {
        CapturePlan plan = record.Plan;
        long w = plan.BinWidthNs;
        var runs = collected.Where(c => c.Run is not null).Select(c => c.Run!).ToList();
        MergedCapture merged = RunMerger.Merge(start, w, (int)plan.Bins, plan.Hosts, runs);
        Action<Capture> final = Finish(record, states, armed, collected, merged, out RackResultSummary? summary);
        await CompleteAsync(record, final, runs, ct).ConfigureAwait(false);
        if (summary is not null && record.State == CaptureState.Analysed)
        {
            _results.Record(plan.Rack, w, summary);
        }

        Observability.ResultDelay.Record(Math.Max(0, _clock.NowNs() - end) / 1e9);
        foreach (HostOutcome h in record.Read(c => c.Hosts.ToList()))
        {
            Observability.HostOutcomes.Add(1, new KeyValuePair<string, object?>("outcome", TelemetryLabels.Snake(h.Outcome, "HostOutcome")));
        }

        LogCaptureEnded(_logger, record.Id, plan.Rack, record.State, record.Read(c => c.HostsCovered), plan.Hosts.Count, record.Read(c => c.Detail));
    }

    /// <summary>
    /// Sets each host's final outcome from the merge and analyses the hosts that can be analysed; returns the change
    /// that ends the capture, for <see cref="CompleteAsync"/> to store before anyone sees it.
    /// </summary>
    private Action<Capture> Finish(CaptureRecord record, IReadOnlyDictionary<string, HostState> states,
        IReadOnlyDictionary<string, ScheduleOutcome> armed, IReadOnlyList<CollectOutcome> collected, MergedCapture merged,
        out RackResultSummary? summary)
    {
        summary = null;
        CapturePlan plan = record.Plan;
        long w = plan.BinWidthNs;
        var collectedByHost = collected.ToDictionary(c => c.Host, StringComparer.Ordinal);
        var series = new List<HostSeries>();
        var notAnalysed = new List<string>();

        foreach (RejectedRun r in merged.Rejected)
        {
            record.UpdateHost(r.Host, h => Set(h, HostOutcomeKind.HostOutcomeFailed, "run could not be placed on the capture's bins: " + r.Reason));
        }

        foreach (MergedHost m in merged.Hosts)
        {
            Run run = m.Run;
            ClockState? clock = run.ClockAtArm ?? armed[m.Host].Clock;
            long clockError = clock?.MaxErrorNs ?? -1;
            bool trusted = clock is { Synchronized: true } && HostAdmission.AlignmentTrusted(clockError, w);
            ulong linkSpeed = HostAdmission.LinkSpeedBitsPerSecond(run.Interfaces);
            if (linkSpeed == 0 && states.TryGetValue(m.Host, out HostState? registered))
            {
                linkSpeed = registered.LinkSpeedBitsPerSecond;
            }

            if (linkSpeed == 0)
            {
                linkSpeed = (ulong)_options.FallbackLinkSpeedBitsPerSecond;
            }

            var reasons = new List<string>();
            string collectReason = collectedByHost[m.Host].Reason;
            if (collectReason.Length > 0)
            {
                reasons.Add(collectReason);
            }

            bool partial = m.BinsCovered < plan.Bins;
            if (partial && collectReason.Length == 0)
            {
                reasons.Add($"covers {m.BinsCovered} of {plan.Bins} bins");
            }

            if (clock is null || clockError < 0)
            {
                reasons.Add("clock error unknown: alignment not trusted");
            }

            if (record.Read(c => c.Hosts.First(h => h.Host == m.Host)) is { OffsetExceedsHalfBin: true } flagged)
            {
                reasons.Add($"measured clock offset {DurationText.Format(Math.Abs(flagged.MeasuredOffsetNs))} (± {DurationText.Format(Math.Max(flagged.MeasuredOffsetBoundNs, 1))}) exceeds half a bin");
            }

            if (linkSpeed == 0)
            {
                reasons.Add("not analysed: no link speed (agent reports none; set Coordinator:Captures:FallbackLinkSpeedBitsPerSecond)");
                notAnalysed.Add(m.Host);
            }
            else if (!m.CoversFromStart)
            {
                reasons.Add($"not analysed: data starts at bin {m.FirstBin}, not at the capture's start");
                notAnalysed.Add(m.Host);
            }
            else
            {
                series.Add(new HostSeries(m.Host, linkSpeed, clockError, m.BinsCovered,
                    m.IngressBytes, m.IngressCeBytes, m.IngressRetransmitBytes, m.IngressConnections,
                    m.EgressBytes, m.IngressCrossRegionBytes));
            }

            record.UpdateHost(m.Host, h =>
            {
                Set(h, partial ? HostOutcomeKind.HostOutcomePartial : HostOutcomeKind.HostOutcomeCollected, string.Join("; ", reasons));
                h.BinsCovered = (uint)m.BinsCovered;
                h.ClockErrorNs = Math.Max(clockError, 0);
                h.AlignmentTrusted = trusted;
                h.LinkSpeedBitsPerSecond = linkSpeed;
            });
        }

        int covered = merged.Hosts.Count(m => m.BinsCovered > 0);
        if (covered == 0)
        {
            long completed = NowUnixNs();
            return c =>
            {
                c.State = CaptureState.Failed;
                c.Detail = "no host returned data: " + Summarize(c);
                c.CompletedAtUnixNs = completed;
            };
        }

        CaptureAnalysis analysis;
        string detail = notAnalysed.Count > 0 ? $"{notAnalysed.Count} collected host(s) not analysed: {string.Join(", ", notAnalysed)}" : "";
        CaptureState state = CaptureState.Analysed;
        if (series.Count == 0)
        {
            analysis = new CaptureAnalysis { BurstThreshold = plan.BurstThreshold, EventMinHosts = (uint)plan.EventMinHosts };
        }
        else
        {
            try
            {
                RackAnalysis rack = RackAnalyzer.Analyze(series, w, new AnalysisOptions(plan.BurstThreshold, plan.EventMinHosts));
                analysis = rack.ToProto(RackInsightsAnalyzer.Analyze(series, rack, new InsightOptions()));
            }
            catch (ArgumentException ex)
            {
                LogAnalysisFailed(_logger, ex, record.Id);
                analysis = new CaptureAnalysis { BurstThreshold = plan.BurstThreshold, EventMinHosts = (uint)plan.EventMinHosts };
                state = CaptureState.Failed;
                detail = $"analysis failed: {ex.Message}; the runs are stored (GetCaptureSeries)";
            }
        }

        long completedAt = NowUnixNs();
        if (state == CaptureState.Analysed)
        {
            summary = RackResultSummary.From(analysis, series, w, completedAt);
        }

        return c =>
        {
            c.State = state;
            c.Analysis = analysis;
            c.HostsCovered = (uint)covered;
            c.Detail = detail;
            c.CompletedAtUnixNs = completedAt;
        };
    }

    private async Task FailAsync(CaptureRecord record, string detail, CancellationToken ct)
    {
        long completedAt = NowUnixNs();
        LogCaptureEnded(_logger, record.Id, record.Plan.Rack, CaptureState.Failed, 0, record.Plan.Hosts.Count, detail);
        // A scheduled host holds a pin on the run; a pending one may, if the request reached it before the end.
        List<string> pinned = record.Read(c => c.Hosts
            .Where(h => h.Outcome is HostOutcomeKind.HostOutcomePending or HostOutcomeKind.HostOutcomeScheduled)
            .Select(h => h.Host).ToList());
        await CompleteAsync(record, c =>
        {
            c.State = CaptureState.Failed;
            c.Detail = detail;
            c.CompletedAtUnixNs = completedAt;
            foreach (HostOutcome h in c.Hosts.Where(h => h.Outcome is HostOutcomeKind.HostOutcomePending or HostOutcomeKind.HostOutcomeScheduled))
            {
                Set(h, HostOutcomeKind.HostOutcomeFailed, h.Outcome == HostOutcomeKind.HostOutcomePending ? "not tried: " + detail : "not collected: " + detail);
            }
        }, [], ct).ConfigureAwait(false);
        await OwePinReleasesAsync(record.Id, pinned).ConfigureAwait(false);
    }

    /// <summary>
    /// Ends the capture in this order: store the final state, free the rack, then show the final state to readers.
    /// So whoever sees ANALYSED or FAILED can read it back from the store and start the next capture on the rack.
    /// </summary>
    private async Task CompleteAsync(CaptureRecord record, Action<Capture> final, IReadOnlyCollection<Run> runs, CancellationToken ct)
    {
        Capture snapshot = record.Snapshot();
        final(snapshot);
        try
        {
            await _store.SaveResultAsync(snapshot, runs, ct).ConfigureAwait(false);
            record.Persisted = true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogStoreFailed(_logger, ex, record.Id);
        }

        _lanes.Release(record.Plan.Rack, record.Id);
        record.Update(final);
    }

    private async Task TryUpdateStoreAsync(CaptureRecord record, CancellationToken ct)
    {
        try
        {
            await _store.UpdateAsync(record.Snapshot(), ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Progress rows are a convenience for ListCaptures; the capture itself goes on.
            LogStoreFailed(_logger, ex, record.Id);
        }
    }

    /// <summary>Waits until the TAI clock reads <paramref name="taiNs"/>; re-reads the clock after each timer, which may fire early.</summary>
    private async Task WaitUntilTaiAsync(long taiNs, CancellationToken ct)
    {
        long remaining;
        while ((remaining = taiNs - _clock.NowNs()) > 0)
        {
            // Round up to whole milliseconds: timers are no finer, and waking early only costs a loop.
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Ceiling(remaining / 1e6)), _time, ct).ConfigureAwait(false);
        }
    }

    private long NowUnixNs() => _time.UnixNowNs();

    private static void Set(HostOutcome h, HostOutcomeKind kind, string reason)
    {
        h.Outcome = kind;
        h.Reason = reason;
    }

    /// <summary>"h1 refused (…); h2 failed (…)" for the hosts that did not contribute, at most five named.</summary>
    private static string Summarize(CaptureRecord record) => record.Read(Summarize);

    private static string Summarize(Capture c)
    {
        var bad = c.Hosts.Where(h => h.Outcome is HostOutcomeKind.HostOutcomeRefused or HostOutcomeKind.HostOutcomeFailed).ToList();
        string text = string.Join("; ", bad.Take(5).Select(h => $"{h.Host} {(h.Outcome == HostOutcomeKind.HostOutcomeRefused ? "refused" : "failed")} ({h.Reason})"));
        return bad.Count > 5 ? $"{text}; and {bad.Count - 5} more" : text;
    }
}
