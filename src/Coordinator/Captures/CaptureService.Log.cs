namespace Millisampler.Coordinator.Captures;

internal sealed partial class CaptureService
{
    [LoggerMessage(210, LogLevel.Information, "Capture {CaptureId} of rack {Rack} queued behind capture {Running}")]
    private static partial void LogCaptureQueued(ILogger logger, string captureId, string rack, string running);

    [LoggerMessage(211, LogLevel.Information, "Capture of rack {Rack} rejected: {Reason}")]
    private static partial void LogCaptureRejectedBusy(ILogger logger, string rack, string reason);

    [LoggerMessage(212, LogLevel.Error, "Capture {CaptureId} could not be stored; not started")]
    private static partial void LogInsertFailed(ILogger logger, Exception exception, string captureId);
}
