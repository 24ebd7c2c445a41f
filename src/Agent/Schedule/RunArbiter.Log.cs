using Millisampler.Contracts.V1;

namespace Millisampler.Agent.Schedule;

internal sealed partial class RunArbiter
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 2301, EventName = "RunAccepted", Level = LogLevel.Information,
            Message = "Run {RunId} from {Requester} accepted: starts at TAI {StartTaiNs} ns ({LeadMs} ms ahead), {Bins} x {BinWidth}")]
        public static partial void Accepted(ILogger logger, string runId, string requester, long startTaiNs, string leadMs, uint bins, string binWidth);

        [LoggerMessage(EventId = 2302, EventName = "RunRejected", Level = LogLevel.Warning,
            Message = "Run {RunId} from {Requester} refused ({Rejection}): {Reason}")]
        public static partial void Rejected(ILogger logger, string runId, string requester, ScheduleRejection rejection, string reason);

        [LoggerMessage(EventId = 2303, EventName = "RunArmed", Level = LogLevel.Information,
            Message = "Run {RunId} armed {ArmDelayUs} us after ScheduleRun was received; bin 0 starts in {LeadUs} us")]
        public static partial void Armed(ILogger logger, string runId, long armDelayUs, long leadUs);

        [LoggerMessage(EventId = 2304, EventName = "RunEnded", Level = LogLevel.Information,
            Message = "Run {RunId} ({Origin}) ended {Status}: {BinsRecorded} of {Bins} bins {Detail}")]
        public static partial void RunEnded(ILogger logger, string runId, RunOrigin origin, RunStatus status, uint binsRecorded, uint bins, string detail);

        [LoggerMessage(EventId = 2305, EventName = "LocalRunSkipped", Level = LogLevel.Information,
            Message = "Local run {RunId} {Reason}")]
        public static partial void LocalSkipped(ILogger logger, string runId, string reason);

        [LoggerMessage(EventId = 2306, EventName = "LocalRunPreempted", Level = LogLevel.Information,
            Message = "Local run {RunId} gives way to coordinator run {CoordinatorRunId}: cut at TAI {CutAtTaiNs} ns")]
        public static partial void LocalPreempted(ILogger logger, string runId, string coordinatorRunId, long cutAtTaiNs);

        [LoggerMessage(EventId = 2307, EventName = "RunRecordFailed", Level = LogLevel.Error,
            Message = "Run {RunId} could not be recorded")]
        public static partial void RecordFailed(ILogger logger, string runId, Exception exception);

        [LoggerMessage(EventId = 2308, EventName = "RunStoreFailed", Level = LogLevel.Error,
            Message = "Run {RunId} could not be stored; it is kept in memory until the agent stops")]
        public static partial void StoreFailed(ILogger logger, string runId, Exception exception);

        [LoggerMessage(EventId = 2309, EventName = "RunPinFailed", Level = LogLevel.Warning,
            Message = "Pin of run {RunId} could not be changed; retention may treat it as unfetched or fetched")]
        public static partial void PinFailed(ILogger logger, string runId, Exception exception);

        [LoggerMessage(EventId = 2310, EventName = "RunStopTimedOut", Level = LogLevel.Error,
            Message = "Shutdown timed out with {Runs} run(s) not stored")]
        public static partial void StopTimedOut(ILogger logger, int runs);

        [LoggerMessage(EventId = 2311, EventName = "WindowRead", Level = LogLevel.Information,
            Message = "Look-back window {RunId} from {Requester} read: first bin {FirstBin}, {Bins} x {BinWidth}")]
        public static partial void WindowRead(ILogger logger, string runId, string requester, long firstBin, uint bins, string binWidth);

        [LoggerMessage(EventId = 2312, EventName = "WindowRejected", Level = LogLevel.Warning,
            Message = "Look-back window {RunId} from {Requester} refused ({Rejection}): {Reason}")]
        public static partial void WindowRejected(ILogger logger, string runId, string requester, ScheduleRejection rejection, string reason);

        [LoggerMessage(EventId = 2313, EventName = "RunLost", Level = LogLevel.Warning,
            Message = "Run {RunId} ({Bins} x {BinWidth} from TAI {StartTaiNs} ns) was accepted before the agent last stopped and never stored; recorded as lost")]
        public static partial void RunLost(ILogger logger, string runId, long startTaiNs, uint bins, string binWidth);

        [LoggerMessage(EventId = 2314, EventName = "RunArmedMarkFailed", Level = LogLevel.Warning,
            Message = "Could not mark run {RunId} armed in the store; should the agent be killed before it is stored, it will not be recorded as lost")]
        public static partial void ArmedMarkFailed(ILogger logger, string runId, Exception exception);

        [LoggerMessage(EventId = 2315, EventName = "RunReleased", Level = LogLevel.Information,
            Message = "Run {RunId} released by {Requester}: it will not be fetched, so its pin is dropped (was pinned: {WasPinned})")]
        public static partial void RunReleased(ILogger logger, string runId, string requester, bool wasPinned);
    }
}
