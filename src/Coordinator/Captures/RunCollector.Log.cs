namespace Millisampler.Coordinator.Captures;

internal sealed partial class RunCollector
{
    [LoggerMessage(230, LogLevel.Warning, "Run {RunId} not collected from host {Host}: {Reason}")]
    private static partial void LogCollectFailed(ILogger logger, string runId, string host, string reason);
}
