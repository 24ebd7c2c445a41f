namespace Millisampler.Agent.Service;

internal sealed partial class AgentGrpcService
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 2201, EventName = "GetRunGaveUp", Level = LogLevel.Information,
            Message = "GetRun for {RunId} ended before the run was complete: {Reason}")]
        public static partial void GetRunGaveUp(ILogger logger, string runId, string reason);
    }
}
