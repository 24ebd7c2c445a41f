namespace Millisampler.Coordinator.Storage;

internal abstract partial class SqlStore
{
    [LoggerMessage(300, LogLevel.Information, "Store {Store} open; {Interrupted} unfinished captures from a previous run marked failed")]
    private static partial void LogStoreOpened(ILogger logger, string store, int interrupted);

    [LoggerMessage(301, LogLevel.Information, "Deleted {Count} captures older than {RetentionDays} days")]
    private static partial void LogPurged(ILogger logger, int count, int retentionDays);

    [LoggerMessage(302, LogLevel.Information, "Deleted {Count} sweep summaries older than {RetentionDays} days")]
    private static partial void LogSummariesPurged(ILogger logger, int count, int retentionDays);
}
