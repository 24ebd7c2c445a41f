using Millisampler.Contracts.V1;

namespace Millisampler.Coordinator.Captures;

internal sealed partial class CaptureRunner
{
    [LoggerMessage(201, LogLevel.Information, "Capture {CaptureId} of rack {Rack}: {Hosts} hosts start at TAI {StartTaiNs} ns (in {LeadMs:F1} ms), {Bins} bins of {BinWidthNs} ns")]
    private static partial void LogCaptureScheduled(ILogger logger, string captureId, string rack, int hosts, long startTaiNs, double leadMs, uint bins, long binWidthNs);

    [LoggerMessage(202, LogLevel.Information, "Capture {CaptureId} of rack {Rack} ended {State}: {Covered} of {Requested} hosts covered. {Detail}")]
    private static partial void LogCaptureEnded(ILogger logger, string captureId, string rack, CaptureState state, uint covered, int requested, string detail);

    [LoggerMessage(203, LogLevel.Error, "Capture {CaptureId} failed with an unexpected error")]
    private static partial void LogCaptureCrashed(ILogger logger, Exception exception, string captureId);

    [LoggerMessage(204, LogLevel.Error, "Analysis of capture {CaptureId} failed")]
    private static partial void LogAnalysisFailed(ILogger logger, Exception exception, string captureId);

    [LoggerMessage(205, LogLevel.Error, "Storing capture {CaptureId} failed; it stays in memory until the coordinator stops")]
    private static partial void LogStoreFailed(ILogger logger, Exception exception, string captureId);

    [LoggerMessage(206, LogLevel.Information, "Capture {CaptureId} of rack {Rack}: {Hosts} hosts, {Window} window of {Bins} bins of {BinWidthNs} ns from absolute bin {FirstBin}, read from the look-back rings")]
    private static partial void LogWindowPlanned(ILogger logger, string captureId, string rack, int hosts, CaptureWindow window, long firstBin, uint bins, long binWidthNs);
}
