namespace Millisampler.Coordinator.Triggers;

internal sealed partial class TriggerGate
{
    [LoggerMessage(600, LogLevel.Information, "Trigger {Rule} of host {Host} fired capture {CaptureId} of rack {Rack} around TAI {InstantTaiNs} ns")]
    private static partial void LogFired(ILogger logger, string rule, string rack, string host, string captureId, long instantTaiNs);

    [LoggerMessage(601, LogLevel.Debug, "Trigger {Rule} of host {Host} joined capture {CaptureId} of rack {Rack}")]
    private static partial void LogJoined(ILogger logger, string rule, string rack, string host, string captureId);

    [LoggerMessage(602, LogLevel.Information, "Trigger {Rule} of host {Host} on rack {Rack} refused: {Reason}")]
    private static partial void LogRefused(ILogger logger, string rule, string rack, string host, string reason);

    [LoggerMessage(603, LogLevel.Warning, "Trigger decision {TriggerId} of rack {Rack} could not be stored")]
    private static partial void LogStoreFailed(ILogger logger, Exception exception, string triggerId, string rack);

    [LoggerMessage(604, LogLevel.Information, "Read back {Count} trigger captures of rack {Rack} fired within the last hour: they count for its cooldown and cap")]
    private static partial void LogRestored(ILogger logger, int count, string rack);

    [LoggerMessage(605, LogLevel.Warning, "Trigger decisions of rack {Rack} could not be read back; deciding from this coordinator's memory until they can")]
    private static partial void LogRestoreFailed(ILogger logger, Exception exception, string rack);
}
