using Grpc.Core;

namespace Millisampler.Agent.Triggers;

internal sealed partial class TriggerWatcher
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 2601, EventName = "TriggersWatching", Level = LogLevel.Information,
            Message = "Watching the look-back ring ({BinWidthNs} ns bins) with {Rules} trigger rule(s), every {PollMs} ms")]
        public static partial void Watching(ILogger logger, int rules, long binWidthNs, long pollMs);

        [LoggerMessage(EventId = 2602, EventName = "TriggersNoRing", Level = LogLevel.Error,
            Message = "{Rules} trigger rule(s) configured but the kernel keeps no look-back ring (off, or the CLOCK_MONOTONIC programs): no rule is evaluated")]
        public static partial void NoRing(ILogger logger, int rules);

        [LoggerMessage(EventId = 2603, EventName = "TriggerRuleInactive", Level = LogLevel.Error,
            Message = "Trigger rule {Rule} is not evaluated: {Reason}")]
        public static partial void RuleInactive(ILogger logger, string rule, string reason);

        [LoggerMessage(EventId = 2604, EventName = "TriggerFired", Level = LogLevel.Information,
            Message = "Trigger rule {Rule} fired on bins {FirstBin}..{LastBin} (instant TAI {InstantTaiNs} ns): {Values}")]
        public static partial void Fired(ILogger logger, string rule, long firstBin, long lastBin, long instantTaiNs, string values);

        [LoggerMessage(EventId = 2605, EventName = "TriggerAnswered", Level = LogLevel.Information,
            Message = "Coordinator answered trigger {Rule}: accepted {Accepted}, capture '{CaptureId}', {Reason}")]
        public static partial void Answered(ILogger logger, string rule, bool accepted, string captureId, string reason);

        [LoggerMessage(EventId = 2606, EventName = "TriggerNotReported", Level = LogLevel.Warning,
            Message = "Trigger {Rule} fired but no coordinator is connected (stand-alone or not registered yet); it is only logged")]
        public static partial void NoCoordinator(ILogger logger, string rule);

        [LoggerMessage(EventId = 2607, EventName = "TriggerReportFailed", Level = LogLevel.Warning,
            Message = "Reporting trigger {Rule} failed: {Status} {Detail}")]
        public static partial void ReportFailed(ILogger logger, string rule, StatusCode status, string detail);

        [LoggerMessage(EventId = 2608, EventName = "TriggerBinsSkipped", Level = LogLevel.Warning,
            Message = "The trigger watcher fell behind and skipped {Bins} bins")]
        public static partial void SkippedBins(ILogger logger, long bins);
    }
}
