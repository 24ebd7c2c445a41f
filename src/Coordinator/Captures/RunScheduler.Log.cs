using Millisampler.Contracts.V1;

namespace Millisampler.Coordinator.Captures;

internal sealed partial class RunScheduler
{
    [LoggerMessage(220, LogLevel.Debug, "ScheduleRun to host {Host}: attempt {Attempt} failed ({Error}); retrying in {DelayMs} ms")]
    private static partial void LogScheduleRetry(ILogger logger, string host, int attempt, double delayMs, string error);

    [LoggerMessage(221, LogLevel.Warning, "Run {RunId} not scheduled on host {Host}: {Outcome}: {Reason}")]
    private static partial void LogHostNotScheduled(ILogger logger, string runId, string host, HostOutcomeKind outcome, string reason);
}
