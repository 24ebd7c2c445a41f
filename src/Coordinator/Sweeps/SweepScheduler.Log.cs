namespace Millisampler.Coordinator.Sweeps;

internal sealed partial class SweepScheduler
{
    [LoggerMessage(400, LogLevel.Information, "Sweep {Sweep} started capture {CaptureId} of rack {Rack} at {BinWidthNs} ns (period {Period})")]
    private static partial void LogStarted(ILogger logger, string sweep, string rack, long binWidthNs, long period, string captureId);

    [LoggerMessage(401, LogLevel.Debug, "Sweep {Sweep} yields rack {Rack} at {BinWidthNs} ns: busy with another capture")]
    private static partial void LogSkippedBusy(ILogger logger, string sweep, string rack, long binWidthNs);

    [LoggerMessage(402, LogLevel.Warning, "Sweep {Sweep} could not start a capture of rack {Rack} at {BinWidthNs} ns")]
    private static partial void LogStartFailed(ILogger logger, Exception ex, string sweep, string rack, long binWidthNs);

    [LoggerMessage(403, LogLevel.Warning, "Summary of sweep capture {CaptureId} not stored")]
    private static partial void LogSummaryFailed(ILogger logger, Exception ex, string captureId);

    [LoggerMessage(404, LogLevel.Information, "Lease {Lease} taken by {Holder}")]
    private static partial void LogLeaseTaken(ILogger logger, string lease, string holder);
}
