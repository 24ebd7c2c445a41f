using System.Collections.Concurrent;
using System.Globalization;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Millisampler.Common.Text;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Storage;

namespace Millisampler.Coordinator.Triggers;

/// <summary>
/// The coordinator's one gate for triggers. Submissions of one rack are decided one at a time (so three hosts reporting
/// one incast together make one capture), in this order:
/// <list type="number">
/// <item>disabled (<c>Coordinator:Triggers:Enabled</c>): REFUSED;</item>
/// <item>the instant lies in the window of a capture this rack fired within the last hour: JOINED (the same event,
/// already captured), preferring a capture of the same kind (forward or read from the rings); a submission of the
/// other kind for the same event (origin, name and instant: an alert's forward capture after its look-back) starts
/// its own capture as the event's companion, outside cooldown and cap;</item>
/// <item>within <c>Cooldown</c> of the rack's last fired capture: REFUSED "cooldown";</item>
/// <item><c>HourlyCapPerRack</c> captures fired in the sliding hour: REFUSED "hourly cap";</item>
/// <item>otherwise the capture starts: FIRED, or REFUSED with the reason it could not start.</item>
/// </list>
/// Every decision is stored (<see cref="ITriggerStore"/>) and counted. Trigger captures are AROUND windows read from the
/// rings: they take no rack lane and no engineer's rate-limit token (docs/coordinator.md, "Triggers").
/// A restarted coordinator reads a rack's captures fired within the last hour back from the store before its first
/// decision for that rack, so a restart resets neither the cooldown nor the cap (<see cref="RestoreAsync"/>).
/// </summary>
internal sealed partial class TriggerGate : ITriggerGate
{
    /// <summary>Most (rule, rack, host) names remembered for <see cref="Policy"/>; beyond, new names are not listed.</summary>
    public const int MaxRulesSeen = 4096;

    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);

    private readonly ConcurrentDictionary<string, RackState> _racks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<(string Rule, string Rack, string Host), RuleSeen> _seen = new();
    private readonly ITriggerCaptures _captures;
    private readonly ITriggerStore _store;
    private readonly TimeProvider _time;
    private readonly TaiClock _clock;
    private readonly TriggerOptions _options;
    private readonly ILogger<TriggerGate> _logger;

    public TriggerGate(ITriggerCaptures captures, ITriggerStore store, TimeProvider time, TaiClock clock,
        IOptions<TriggerOptions> options, ILogger<TriggerGate> logger)
    {
        _captures = captures;
        _store = store;
        _time = time;
        _clock = clock;
        _options = options.Value;
        _logger = logger;
    }

    /// <summary>The options in force and the rule names agents reported under since this coordinator started.</summary>
    public TriggerPolicy Policy()
    {
        var policy = new TriggerPolicy
        {
            Enabled = _options.Enabled,
            CooldownNs = TimeNs.Of(_options.Cooldown),
            HourlyCapPerRack = (uint)_options.HourlyCapPerRack,
            BeforeNs = TimeNs.Of(_options.Before),
            AfterNs = TimeNs.Of(_options.After),
            BinWidthNs = TimeNs.Of(_options.BinWidth),
        };
        // ToArray first: the dictionary's own snapshot. LINQ over it copies through ICollection.CopyTo, which throws when a
        // report adds a name meanwhile (a test caught it: GetTriggerPolicy during a burst of reports).
        policy.RulesSeen.AddRange(_seen.ToArray()
            .OrderBy(kv => kv.Key.Rack, StringComparer.Ordinal).ThenBy(kv => kv.Key.Rule, StringComparer.Ordinal)
            .ThenBy(kv => kv.Key.Host, StringComparer.Ordinal)
            .Select(kv => new TriggerRuleSeen
            {
                Rule = kv.Key.Rule,
                Rack = kv.Key.Rack,
                Host = kv.Key.Host,
                LastReportUnixNs = Interlocked.Read(ref kv.Value.LastUnixNs),
                Reports = (uint)Interlocked.CompareExchange(ref kv.Value.Reports, 0, 0),
            }));
        return policy;
    }

    /// <summary>Default and largest number of decisions <see cref="ListAsync"/> returns.</summary>
    public const int DefaultListLimit = 100;

    public const int MaxListLimit = 1000;

    /// <summary>Stored decisions newest first, by rack and reception time; INVALID_ARGUMENT naming a bad field.</summary>
    public async Task<ListTriggersResponse> ListAsync(ListTriggersRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.FromUnixNs < 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"from_unix_ns: {request.FromUnixNs.ToString(CultureInfo.InvariantCulture)}; ≥ 0 (0 = no bound)"));
        }

        if (request.Limit > MaxListLimit)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"limit: {request.Limit} is out of range; allowed 0 (= {DefaultListLimit})..{MaxListLimit}"));
        }

        if (request.Rack.Length > 253)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"rack: {request.Rack.Length} characters; at most 253"));
        }

        var response = new ListTriggersResponse();
        response.Triggers.AddRange(await _store.ListTriggersAsync(request.Rack, request.FromUnixNs,
            request.Limit == 0 ? DefaultListLimit : (int)request.Limit, cancellationToken).ConfigureAwait(false));
        return response;
    }

    /// <summary>The AROUND window the gate captures for a trigger at <paramref name="instantTaiNs"/>: [instant − Before, instant + After).</summary>
    public StartCaptureRequest AroundCapture(string rack, long instantTaiNs) => new()
    {
        Rack = rack,
        BinWidthNs = TimeNs.Of(_options.BinWidth),
        Around = new AroundWindow
        {
            InstantTaiNs = instantTaiNs,
            BeforeNs = TimeNs.Of(_options.Before),
            AfterNs = TimeNs.Of(_options.After),
        },
    };

    public async Task<TriggerRecord> SubmitAsync(TriggerSubmission submission, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(submission);
        DateTimeOffset received = _time.GetUtcNow();
        long receivedUnixNs = TimeNs.FromUnix(received);
        var record = new TriggerRecord
        {
            TriggerId = Guid.CreateVersion7(received).ToString(),
            ReceivedAtUnixNs = receivedUnixNs,
            Report = ReportOf(submission),
            Origin = submission.Origin,
            RequestedBy = submission.RequestedBy,
            DelayNs = submission.InstantTaiNs > 0 ? TimeNs.TaiFromUnix(receivedUnixNs, _clock.TaiOffsetSeconds) - submission.InstantTaiNs : 0,
            AlertFingerprint = submission.AlertFingerprint,
        };
        foreach ((string name, string value) in submission.AlertLabels ?? new Dictionary<string, string>())
        {
            record.AlertLabels[name] = value;
        }

        NoteSeen(submission, receivedUnixNs);

        if (!_options.Enabled)
        {
            Decide(record, TriggerDecision.Refused, $"triggers are disabled ({TriggerOptions.SectionName}:{nameof(TriggerOptions.Enabled)})", "");
        }
        else
        {
            RackState rack = _racks.GetOrAdd(submission.Rack, _ => new RackState());
            await rack.Lock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (!rack.Restored)
                {
                    rack.Restored = await RestoreAsync(rack, submission.Rack).ConfigureAwait(false);
                }

                await DecideAsync(rack, submission, record).ConfigureAwait(false);
            }
            finally
            {
                rack.Lock.Release();
            }
        }

        record.DecisionNs = TimeNs.FromUnix(_time.GetUtcNow()) - receivedUnixNs;
        string decision = DecisionText(record.Decision);
        Observability.Triggers.Add(1, new KeyValuePair<string, object?>("decision", decision),
            new KeyValuePair<string, object?>("origin", submission.Origin == CaptureOrigin.Alert ? "alert" : "trigger"));
        if (record.DelayNs > 0)
        {
            Observability.TriggerDelay.Record(record.DelayNs / (double)TimeNs.PerSecond);
        }

        switch (record.Decision)
        {
            case TriggerDecision.Fired:
                LogFired(_logger, submission.Name, submission.Rack, submission.Host, record.CaptureId, submission.InstantTaiNs);
                break;
            case TriggerDecision.Joined:
                LogJoined(_logger, submission.Name, submission.Rack, submission.Host, record.CaptureId);
                break;
            default:
                LogRefused(_logger, submission.Name, submission.Rack, submission.Host, record.Reason);
                break;
        }

        try
        {
            // The decision stands whether or not it is stored: a capture already started is not undone.
            await _store.InsertTriggerAsync(record, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogStoreFailed(_logger, ex, record.TriggerId, submission.Rack);
        }

        return record;
    }

    private async Task DecideAsync(RackState rack, TriggerSubmission submission, TriggerRecord record)
    {
        DateTimeOffset now = _time.GetUtcNow();
        rack.Fired.RemoveAll(f => now - f.At >= Hour);
        long instant = submission.InstantTaiNs;
        bool forward = submission.Capture.WindowCase == StartCaptureRequest.WindowOneofCase.None;

        // The same event seen by another host (or again by the same one) joins the capture that covers it, newest first,
        // preferring a capture of the same kind (forward or read from the rings).
        FiredCapture? covering = rack.Fired.LastOrDefault(f => f.Covers(instant) && f.Forward == forward)
            ?? rack.Fired.LastOrDefault(f => f.Covers(instant));
        FiredCapture? companionOf = null;
        if (covering is not null)
        {
            if (covering.Forward == forward || !covering.SameEvent(submission))
            {
                Decide(record, TriggerDecision.Joined, "joined", covering.CaptureId);
                return;
            }

            // The other half of one event (an alert's forward capture after its look-back): it starts its own capture,
            // within the event's cooldown and cap.
            companionOf = covering;
        }

        FiredCapture? last = rack.Fired.LastOrDefault(f => !f.Companion);
        if (companionOf is null && last is not null && now - last.At < _options.Cooldown)
        {
            Decide(record, TriggerDecision.Refused,
                $"cooldown: rack '{submission.Rack}' fired capture {last.CaptureId} {DurationText.Format(TimeNs.Of(now - last.At))} ago; " +
                $"reports outside its window wait {DurationText.Format(TimeNs.Of(_options.Cooldown))} ({TriggerOptions.SectionName}:{nameof(TriggerOptions.Cooldown)})",
                "");
            return;
        }

        var counted = rack.Fired.Where(f => !f.Companion).ToList();
        if (companionOf is null && counted.Count >= _options.HourlyCapPerRack)
        {
            DateTimeOffset next = counted[counted.Count - _options.HourlyCapPerRack].At + Hour;
            Decide(record, TriggerDecision.Refused,
                $"hourly cap: {counted.Count} trigger captures of rack '{submission.Rack}' in the last hour, at most " +
                $"{_options.HourlyCapPerRack.ToString(CultureInfo.InvariantCulture)} ({TriggerOptions.SectionName}:{nameof(TriggerOptions.HourlyCapPerRack)}); " +
                $"the next may fire in {DurationText.Format(TimeNs.Of(next - now))}",
                "");
            return;
        }

        Capture capture;
        try
        {
            // The capture is the rack's, not the reporter's: a reporter that goes away does not abort it.
            capture = await _captures.StartAsync(submission.Capture, submission.RequestedBy, submission.Origin, submission.Name,
                CancellationToken.None).ConfigureAwait(false);
        }
        catch (RpcException ex)
        {
            Decide(record, TriggerDecision.Refused, $"capture could not start ({ex.StatusCode}): {ex.Status.Detail}", "");
            return;
        }

        (long start, long end) = capture.StartTaiNs > 0 && capture.BinWidthNs > 0
            ? (capture.StartTaiNs, capture.StartTaiNs + (capture.Bins * capture.BinWidthNs))
            : (instant, instant + 1);
        (long eventStart, long eventEnd) = companionOf is null ? (instant, instant + 1) : (companionOf.WindowStartTaiNs, companionOf.WindowEndTaiNs);
        rack.Fired.Add(new FiredCapture(capture.CaptureId, _time.GetUtcNow(), forward, start, end, eventStart, eventEnd,
            submission.Origin, submission.Name, instant, companionOf is not null));
        Decide(record, TriggerDecision.Fired, "", capture.CaptureId);
    }

    /// <summary>Most stored decisions of one rack read back on its first submission (every decision of the last hour is far fewer).</summary>
    internal const int RestoreLimit = 10_000;

    /// <summary>
    /// The rack's captures FIRED within the last hour, read back from the store, oldest first: they count for the cooldown
    /// and the cap as before the restart. Their capture windows are not stored, so a later report joins one of them only
    /// at its exact instant; a report of the same event at another instant is refused by the cooldown instead (it cannot
    /// fire twice). The second of two captures fired for one event (an alert's look-back and its forward capture) is
    /// again its companion. False when the store cannot be read: the gate then decides from memory and tries again at
    /// the rack's next submission.
    /// </summary>
    private async Task<bool> RestoreAsync(RackState rack, string rackName)
    {
        DateTimeOffset now = _time.GetUtcNow();
        IReadOnlyList<TriggerRecord> stored;
        try
        {
            stored = await _store.ListTriggersAsync(rackName, TimeNs.FromUnix(now - Hour), RestoreLimit, CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogRestoreFailed(_logger, ex, rackName);
            return false;
        }

        var known = rack.Fired.Select(f => f.CaptureId).ToHashSet(StringComparer.Ordinal);
        var restored = new List<FiredCapture>();
        foreach (TriggerRecord r in stored.Where(r => r.Decision == TriggerDecision.Fired && !known.Contains(r.CaptureId))
            .OrderBy(r => r.ReceivedAtUnixNs))
        {
            DateTimeOffset at = TimeNs.ToUnix(r.ReceivedAtUnixNs);
            if (now - at >= Hour || !string.Equals(r.Report.Rack, rackName, StringComparison.Ordinal))
            {
                continue;
            }

            long instant = r.Report.InstantTaiNs;
            bool companion = restored.Any(f => f.Origin == r.Origin && f.InstantTaiNs == instant && string.Equals(f.Name, r.Report.Rule, StringComparison.Ordinal));
            restored.Add(new FiredCapture(r.CaptureId, at, Forward: false, WindowStartTaiNs: 0, WindowEndTaiNs: 0,
                EventStartTaiNs: instant, EventEndTaiNs: instant + 1, r.Origin, r.Report.Rule, instant, companion));
        }

        if (restored.Count > 0)
        {
            rack.Fired.InsertRange(0, restored);
            rack.Fired.Sort((a, b) => a.At.CompareTo(b.At));
            LogRestored(_logger, restored.Count, rackName);
        }

        return true;
    }

    private static void Decide(TriggerRecord record, TriggerDecision decision, string reason, string captureId)
    {
        record.Decision = decision;
        record.Reason = reason;
        record.CaptureId = captureId;
    }

    private static TriggerReport ReportOf(TriggerSubmission s)
    {
        TriggerReport report = s.Report?.Clone() ?? new TriggerReport { Host = s.Host, Rack = s.Rack, Rule = s.Name, InstantTaiNs = s.InstantTaiNs };
        if (s.Report is null)
        {
            foreach ((string key, double value) in s.Values)
            {
                report.Values[key] = value;
            }
        }

        return report;
    }

    private void NoteSeen(TriggerSubmission s, long unixNs)
    {
        var key = (s.Name, s.Rack, s.Host);
        RuleSeen? seen = _seen.TryGetValue(key, out RuleSeen? existing) ? existing
            : _seen.Count < MaxRulesSeen ? _seen.GetOrAdd(key, _ => new RuleSeen()) : null;
        if (seen is not null)
        {
            Interlocked.Exchange(ref seen.LastUnixNs, unixNs);
            Interlocked.Increment(ref seen.Reports);
        }
    }

    internal static string DecisionText(TriggerDecision decision) => decision switch
    {
        TriggerDecision.Fired => "fired",
        TriggerDecision.Joined => "joined",
        TriggerDecision.Refused => "refused",
        _ => "unspecified",
    };

    private sealed class RackState
    {
        public SemaphoreSlim Lock { get; } = new(1, 1);

        /// <summary>The rack's captures of the last hour were read back from the store (under <see cref="Lock"/>).</summary>
        public bool Restored { get; set; }

        /// <summary>Captures fired within the last hour, oldest first.</summary>
        public List<FiredCapture> Fired { get; } = [];
    }

    /// <summary>
    /// A capture the rack fired at <paramref name="At"/>: its window TAI [<paramref name="WindowStartTaiNs"/>,
    /// <paramref name="WindowEndTaiNs"/>) and the event it was fired for, [<paramref name="EventStartTaiNs"/>,
    /// <paramref name="EventEndTaiNs"/>) (the instant; for a companion, the window of the capture it accompanies).
    /// A companion (an alert's forward capture beside its look-back) counts for neither cooldown nor cap.
    /// </summary>
    private sealed record FiredCapture(string CaptureId, DateTimeOffset At, bool Forward, long WindowStartTaiNs, long WindowEndTaiNs,
        long EventStartTaiNs, long EventEndTaiNs, CaptureOrigin Origin, string Name, long InstantTaiNs, bool Companion)
    {
        public bool Covers(long instant) =>
            (instant >= WindowStartTaiNs && instant < WindowEndTaiNs) || (instant >= EventStartTaiNs && instant < EventEndTaiNs);

        public bool SameEvent(TriggerSubmission s) =>
            s.Origin == Origin && s.InstantTaiNs == InstantTaiNs && string.Equals(s.Name, Name, StringComparison.Ordinal);
    }

    private sealed class RuleSeen
    {
        public long LastUnixNs;
        public int Reports;
    }
}
