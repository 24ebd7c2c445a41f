using Millisampler.Contracts.V1;

namespace Millisampler.Agent.Schedule;

/// <summary>The answer to a ReadWindow: the stored look-back run, or why not.</summary>
/// <param name="Rejection">None when read.</param>
/// <param name="Message">Why refused, naming the field or the oldest bin held; empty when read.</param>
/// <param name="Run">The run (origin LOOKBACK); null when refused.</param>
/// <param name="Duplicate">True when this run id had already been read with the same window.</param>
public sealed record WindowDecision(ScheduleRejection Rejection, string Message, Run? Run, bool Duplicate)
{
    public static WindowDecision Reject(ScheduleRejection rejection, string message) => new(rejection, message, null, false);

    public static WindowDecision Read(Run run, bool duplicate) => new(ScheduleRejection.None, "", run, duplicate);

    public bool Accepted => Rejection == ScheduleRejection.None;
}
