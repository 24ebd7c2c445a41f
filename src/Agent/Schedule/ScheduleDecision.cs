using Millisampler.Contracts.V1;

namespace Millisampler.Agent.Schedule;

/// <summary>The answer to a ScheduleRun.</summary>
/// <param name="Rejection">None when accepted.</param>
/// <param name="Message">Why refused, naming the field or the other run; empty when accepted.</param>
/// <param name="Duplicate">True when the run id had already been accepted with the same parameters.</param>
/// <param name="Clock">Clock state when accepted.</param>
public sealed record ScheduleDecision(ScheduleRejection Rejection, string Message, bool Duplicate, ClockState? Clock)
{
    public static ScheduleDecision Reject(ScheduleRejection rejection, string message) => new(rejection, message, false, null);

    public static ScheduleDecision Accept(bool duplicate, ClockState clock) => new(ScheduleRejection.None, "", duplicate, clock);

    public bool Accepted => Rejection == ScheduleRejection.None;
}
