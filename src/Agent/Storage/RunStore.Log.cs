namespace Millisampler.Agent.Storage;

public sealed partial class RunStore
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 2101, EventName = "RunStoreOpened", Level = LogLevel.Information,
            Message = "Run store opened at {Directory}: {RunCount} runs, {TotalBytes} bytes, {PinCount} pins")]
        public static partial void Opened(ILogger logger, string directory, int runCount, long totalBytes, int pinCount);

        [LoggerMessage(EventId = 2102, EventName = "RunStoreTempFilesRemoved", Level = LogLevel.Information,
            Message = "Removed {Count} temp files that interrupted writes left in {Directory}")]
        public static partial void TempFilesRemoved(ILogger logger, int count, string directory);

        [LoggerMessage(EventId = 2103, EventName = "RunStoreCorruptRunFile", Level = LogLevel.Warning,
            Message = "Run file {FileName} is corrupt ({Defect}); it is not served and was moved to {QuarantinePath}")]
        public static partial void CorruptRunFile(ILogger logger, string fileName, RunFileDefect defect, string quarantinePath);

        [LoggerMessage(EventId = 2104, EventName = "RunStoreUnrecognizedRunFile", Level = LogLevel.Warning,
            Message = "File {FileName} has the run file extension but not a run file name; it is not served and was moved to {QuarantinePath}")]
        public static partial void UnrecognizedRunFile(ILogger logger, string fileName, string quarantinePath);

        [LoggerMessage(EventId = 2105, EventName = "RunStoreQuarantineFailed", Level = LogLevel.Error,
            Message = "Could not move {FileName} to quarantine; it is dropped from the index and not served")]
        public static partial void QuarantineFailed(ILogger logger, string fileName, Exception exception);

        [LoggerMessage(EventId = 2106, EventName = "RunStoreDuplicateRunFile", Level = LogLevel.Warning,
            Message = "Run {RunId} was stored under two file names; kept {KeptFileName}, deleted {DeletedFileName}")]
        public static partial void DuplicateRunFile(ILogger logger, string runId, string keptFileName, string deletedFileName);

        [LoggerMessage(EventId = 2107, EventName = "RunStoreUnreadablePin", Level = LogLevel.Warning,
            Message = "Ignoring unreadable line {LineNumber} of pins file {Path}")]
        public static partial void UnreadablePin(ILogger logger, string path, int lineNumber);

        [LoggerMessage(EventId = 2108, EventName = "RunStoreDirectorySyncFailed", Level = LogLevel.Warning,
            Message = "Could not fsync directory {Directory}; a power loss may undo the latest rename or deletion there")]
        public static partial void DirectorySyncFailed(ILogger logger, string directory);

        [LoggerMessage(EventId = 2109, EventName = "RunStoreRetentionDeleted", Level = LogLevel.Information,
            Message = "Retention deleted {DeletedByAge} runs by age and {DeletedBySize} by size ({FreedBytes} bytes); {RemainingRuns} runs, {RemainingBytes} bytes remain; {PinnedKept} pinned runs kept")]
        public static partial void RetentionDeleted(ILogger logger, int deletedByAge, int deletedBySize, long freedBytes, int remainingRuns, long remainingBytes, int pinnedKept);

        [LoggerMessage(EventId = 2110, EventName = "RunStorePinnedRunsExceedBudget", Level = LogLevel.Warning,
            Message = "Pinned runs keep the store at {TotalBytes} bytes, above MaxTotalBytes {MaxTotalBytes}; they stay until a coordinator fetches and unpins them")]
        public static partial void PinnedRunsExceedBudget(ILogger logger, long totalBytes, long maxTotalBytes);

        [LoggerMessage(EventId = 2111, EventName = "RunStoreDeleteFailed", Level = LogLevel.Warning,
            Message = "Retention could not delete run file {FileName}; will retry next pass")]
        public static partial void DeleteFailed(ILogger logger, string fileName, Exception exception);

        [LoggerMessage(EventId = 2112, EventName = "RunStorePinsLapsed", Level = LogLevel.Warning,
            Message = "{Count} pinned runs were not fetched within {PinExpiryMinutes} min (Agent:RunStore:PinExpiryMinutes); their pins lapsed and retention may delete them")]
        public static partial void PinsLapsed(ILogger logger, int count, int pinExpiryMinutes);

        [LoggerMessage(EventId = 2113, EventName = "RunStoreUnreadableArmedMarker", Level = LogLevel.Warning,
            Message = "Armed-run marker {Path} is unreadable; removed (a run may have been lost without its window)")]
        public static partial void UnreadableArmedMarker(ILogger logger, string path);
    }
}
