using System.Diagnostics;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Agents;
using Millisampler.Coordinator.Captures;
using Millisampler.Coordinator.Membership;
using Millisampler.Coordinator.Triggers;

namespace Millisampler.Coordinator.Alerts;

/// <summary>What happened to one capture an alert asked for.</summary>
/// <param name="Window">CAPTURE_WINDOW_AROUND (the look-back around startsAt) or CAPTURE_WINDOW_FORWARD.</param>
/// <param name="Submitted">False when the capture was not asked for (the rings no longer hold startsAt, look-back off).</param>
/// <param name="Decision">The gate's decision (TRIGGER_DECISION_FIRED, _JOINED, _REFUSED); empty when not submitted.</param>
/// <param name="CaptureId">The capture fired or joined; empty otherwise.</param>
/// <param name="TriggerId">The stored trigger record.</param>
/// <param name="Reason">Why it was refused or not submitted, or a note (window trimmed).</param>
internal sealed record AlertCaptureOutcome(string Window, bool Submitted, string Decision, string CaptureId, string TriggerId, string Reason);

/// <summary>What the webhook did with one alert of a delivery.</summary>
internal sealed record AlertOutcome(
    int Index,
    string Alertname,
    string Fingerprint,
    string Status,
    string Rack,
    string Host,
    string Note,
    IReadOnlyList<AlertCaptureOutcome> Captures);

/// <summary>The webhook's answer: one outcome per alert, in the delivery's order.</summary>
internal sealed record AlertDeliveryResult(
    string Receiver,
    string GroupKey,
    int Firing,
    int Resolved,
    long TruncatedAlerts,
    string Note,
    IReadOnlyList<AlertOutcome> Alerts);

/// <summary>
/// Turns an Alertmanager delivery into trigger submissions (origin ALERT): for each firing alert, a look-back around
/// its startsAt where the rack's rings still hold it, then a forward capture (alerts arrive late: by the time one is
/// delivered, the event may be over or still going). Resolved alerts are not captured. Every alert of a delivery must
/// map to a known rack before anything is submitted: a delivery is taken whole or refused whole.
/// </summary>
internal sealed partial class AlertReceiver(
    ITriggerGate gate,
    MembershipRegistry registry,
    TaiClock clock,
    IOptions<AlertOptions> options,
    IOptions<CaptureOptions> captureOptions,
    ILogger<AlertReceiver> logger)
{
    private static readonly EnumDescriptor Decisions = TriggerRecord.Descriptor.FindFieldByNumber(TriggerRecord.DecisionFieldNumber).EnumType;
    private static readonly EnumDescriptor Windows = Capture.Descriptor.FindFieldByNumber(Capture.WindowFieldNumber).EnumType;

    private readonly AlertOptions _options = options.Value;

    /// <summary>Submits every firing alert of <paramref name="payload"/>; throws <see cref="AlertPayloadException"/> when one maps to no rack.</summary>
    public async Task<AlertDeliveryResult> ReceiveAsync(AlertmanagerPayload payload, string requestedBy, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> racks = registry.Racks();
        var targets = new Dictionary<int, AlertTarget>();
        foreach (AlertmanagerAlert alert in payload.Alerts.Where(a => a.IsFiring))
        {
            if (alert.Name.Length == 0)
            {
                throw new AlertPayloadException($"alerts[{alert.Index}].labels.alertname", "required: the capture is named after the alert");
            }

            targets[alert.Index] = AlertCapturePlanner.Locate(alert, _options, h => registry.Find(h)?.Rack, racks);
        }

        var outcomes = new List<AlertOutcome>(payload.Alerts.Count);
        foreach (AlertmanagerAlert alert in payload.Alerts)
        {
            Observability.AlertsReceived.Add(1, new TagList { { "status", alert.Status } });
            if (!alert.IsFiring)
            {
                LogResolved(logger, alert.Name, alert.Fingerprint);
                outcomes.Add(new AlertOutcome(alert.Index, alert.Name, alert.Fingerprint, alert.Status, "", "",
                    "resolved alerts are not captured", []));
                continue;
            }

            outcomes.Add(await SubmitAsync(alert, targets[alert.Index], requestedBy, cancellationToken).ConfigureAwait(false));
        }

        int firing = payload.Alerts.Count(a => a.IsFiring);
        string note = payload.TruncatedAlerts > 0
            ? $"Alertmanager left out {payload.TruncatedAlerts} alert(s) of this group (max_alerts); they were not seen"
            : "";
        return new AlertDeliveryResult(payload.Receiver, payload.GroupKey, firing, payload.Alerts.Count - firing, payload.TruncatedAlerts, note, outcomes);
    }

    private async Task<AlertOutcome> SubmitAsync(AlertmanagerAlert alert, AlertTarget target, string requestedBy,
        CancellationToken cancellationToken)
    {
        int taiOffset = clock.TaiOffsetSeconds;
        long startsAtTai = TimeNs.TaiFromUnix(alert.StartsAtUnixNs, taiOffset);
        IReadOnlyDictionary<string, double> values = AlertCapturePlanner.Values(alert);
        var captures = new List<AlertCaptureOutcome>(2);

        // The look-back first: the ring is being overwritten while we wait; the forward capture starts later anyway.
        LookbackPlan lookback = AlertCapturePlanner.Lookback(target.Rack, startsAtTai, clock.NowNs(), registry.HostsOf(target.Rack), _options,
            TimeNs.Of(captureOptions.Value.WindowReadMargin));
        if (lookback.Request is null)
        {
            captures.Add(new AlertCaptureOutcome(WindowName(CaptureWindow.Around), false, "", "", "", lookback.Note));
            Count(CaptureWindow.Around, "skipped");
            LogAlertCapture(logger, alert.Name, target.Rack, "around", "not submitted", "", lookback.Note);
        }
        else
        {
            captures.Add(await SubmitOneAsync(alert, target, startsAtTai, values, lookback.Request, CaptureWindow.Around, lookback.Note,
                requestedBy, cancellationToken).ConfigureAwait(false));
        }

        captures.Add(await SubmitOneAsync(alert, target, startsAtTai, values, AlertCapturePlanner.Forward(target.Rack, _options),
            CaptureWindow.Forward, "", requestedBy, cancellationToken).ConfigureAwait(false));
        return new AlertOutcome(alert.Index, alert.Name, alert.Fingerprint, alert.Status, target.Rack, target.Host, "", captures);
    }

    private async Task<AlertCaptureOutcome> SubmitOneAsync(AlertmanagerAlert alert, AlertTarget target, long startsAtTai,
        IReadOnlyDictionary<string, double> values, StartCaptureRequest request, CaptureWindow window, string note, string requestedBy,
        CancellationToken cancellationToken)
    {
        var submission = new TriggerSubmission(CaptureOrigin.Alert, target.Rack, target.Host, alert.Name, startsAtTai, values, request, requestedBy,
            AlertFingerprint: alert.Fingerprint, AlertLabels: alert.Labels);
        AlertCaptureOutcome outcome;
        try
        {
            TriggerRecord record = await gate.SubmitAsync(submission, cancellationToken).ConfigureAwait(false);
            string reason = string.Join("; ", new[] { record.Reason, note }.Where(s => !string.IsNullOrEmpty(s)));
            outcome = new AlertCaptureOutcome(WindowName(window), true, Decisions.FindValueByNumber((int)record.Decision).Name,
                record.CaptureId, record.TriggerId, reason);
        }
        catch (RpcException ex) when (ex.StatusCode is not (StatusCode.Cancelled or StatusCode.Unavailable))
        {
            // The gate refused before storing a record (a request it cannot take): the alert's outcome says why.
            outcome = new AlertCaptureOutcome(WindowName(window), true, Decisions.FindValueByNumber((int)TriggerDecision.Refused).Name,
                "", "", $"{StatusText.Name(ex.StatusCode)}: {ex.Status.Detail}");
        }

        Count(window, outcome.Decision.Replace("TRIGGER_DECISION_", "", StringComparison.Ordinal).ToLowerInvariant());
        LogAlertCapture(logger, alert.Name, target.Rack, window == CaptureWindow.Around ? "around" : "forward", outcome.Decision, outcome.CaptureId, outcome.Reason);
        return outcome;
    }

    private static string WindowName(CaptureWindow window) => Windows.FindValueByNumber((int)window).Name;

    private static void Count(CaptureWindow window, string decision) =>
        Observability.AlertCaptures.Add(1, new TagList { { "window", window == CaptureWindow.Around ? "around" : "forward" }, { "decision", decision } });
}
