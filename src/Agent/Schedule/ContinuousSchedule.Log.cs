namespace Millisampler.Agent.Schedule;

internal sealed partial class ContinuousSchedule
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 2320, EventName = "ScheduleDisabled", Level = LogLevel.Information,
            Message = "Continuous schedule off (Agent:Schedule:Enabled=false): only coordinator runs are recorded")]
        public static partial void Disabled(ILogger logger);

        [LoggerMessage(EventId = 2321, EventName = "ScheduleStarted", Level = LogLevel.Information,
            Message = "Continuous schedule: every {Period} plus up to {Jitter} jitter, runs of {BinWidths} x {Bins} bins")]
        public static partial void Started(ILogger logger, TimeSpan period, TimeSpan jitter, string binWidths, uint bins);

        [LoggerMessage(EventId = 2322, EventName = "ScheduleCycleStarted", Level = LogLevel.Debug,
            Message = "Schedule cycle {Cycle}: nominal TAI {NominalTaiNs} ns, jitter {JitterMs} ms")]
        public static partial void CycleStarted(ILogger logger, int cycle, long nominalTaiNs, long jitterMs);

        [LoggerMessage(EventId = 2323, EventName = "ScheduleCycleDue", Level = LogLevel.Information,
            Message = "Continuous schedule: cycle {Cycle} due at TAI {AtTaiNs} ns, in {WaitMs} ms")]
        public static partial void CycleDue(ILogger logger, int cycle, long atTaiNs, long waitMs);
    }
}
