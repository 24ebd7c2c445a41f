namespace Millisampler.Coordinator.Captures;

internal sealed partial class ContentionSweep
{
    [LoggerMessage(400, LogLevel.Information, "Sweep: capture {CaptureId} started on rack {Rack}")]
    private static partial void LogSweepStarted(ILogger logger, string rack, string captureId);

    [LoggerMessage(401, LogLevel.Information, "Sweep: rack {Rack} skipped this period: {Reason}")]
    private static partial void LogSweepSkipped(ILogger logger, string rack, string reason);

    [LoggerMessage(402, LogLevel.Warning, "Sweep: capture of rack {Rack} not started: {Reason}")]
    private static partial void LogSweepFailed(ILogger logger, string rack, string reason);
}
