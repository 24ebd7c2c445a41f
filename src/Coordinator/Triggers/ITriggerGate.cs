using Millisampler.Contracts.V1;

namespace Millisampler.Coordinator.Triggers;

/// <summary>
/// One request to capture a rack because something fired: an agent's trigger rule (origin TRIGGER) or an Alertmanager
/// alert (origin ALERT). <paramref name="Capture"/> is the capture the caller wants (an AROUND window for a trigger; a
/// forward capture, plus a look-back where the rings still cover the alert's start, for an alert).
/// <paramref name="RequestedBy"/> is the caller's authenticated identity; <paramref name="Report"/> is the agent's report
/// as received, stored with the record; <paramref name="AlertFingerprint"/> and <paramref name="AlertLabels"/> are an
/// alert's, as Alertmanager delivered them, stored with the record too.
/// </summary>
internal sealed record TriggerSubmission(
    CaptureOrigin Origin,
    string Rack,
    string Host,
    string Name,
    long InstantTaiNs,
    IReadOnlyDictionary<string, double> Values,
    StartCaptureRequest Capture,
    string RequestedBy,
    TriggerReport? Report = null,
    string AlertFingerprint = "",
    IReadOnlyDictionary<string, string>? AlertLabels = null);

/// <summary>
/// Decides whether a submission captures the rack: FIRED (a capture started), JOINED (the capture of the same event,
/// within the rack's cooldown), or REFUSED (cooldown, hourly cap, quota, or the capture could not start; the reason says
/// which). Every decision is stored and returned as a <see cref="TriggerRecord"/>.
/// </summary>
internal interface ITriggerGate
{
    Task<TriggerRecord> SubmitAsync(TriggerSubmission submission, CancellationToken cancellationToken);
}
