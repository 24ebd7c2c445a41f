namespace Millisampler.Coordinator.Storage;

internal sealed partial class CaptureStore
{
    [LoggerMessage(300, LogLevel.Information, "Capture store {Path} open; {Interrupted} unfinished captures from a previous run marked failed")]
    private static partial void LogStoreOpened(ILogger logger, string path, int interrupted);

    [LoggerMessage(301, LogLevel.Information, "Deleted {Count} captures older than {RetentionDays} days")]
    private static partial void LogPurged(ILogger logger, int count, int retentionDays);
}
