namespace Millisampler.Coordinator.Alerts;

internal sealed partial class AlertReceiver
{
    [LoggerMessage(700, LogLevel.Information, "Alert {Alertname} on rack {Rack}: {Window} capture {Decision} {CaptureId} {Reason}")]
    private static partial void LogAlertCapture(ILogger logger, string alertname, string rack, string window, string decision, string captureId, string reason);

    [LoggerMessage(701, LogLevel.Debug, "Alert {Alertname} ({Fingerprint}) resolved; resolved alerts are not captured")]
    private static partial void LogResolved(ILogger logger, string alertname, string fingerprint);
}
