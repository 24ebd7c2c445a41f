namespace Millisampler.Agent.Schedule;

/// <summary>Why a ScheduleRun was refused; each maps to one gRPC status.</summary>
public enum ScheduleRejection
{
    /// <summary>Accepted.</summary>
    None,

    /// <summary>A field is out of range (INVALID_ARGUMENT).</summary>
    InvalidArgument,

    /// <summary>The run id is taken by a run with other parameters (ALREADY_EXISTS).</summary>
    AlreadyExists,

    /// <summary>Start already past, too close or too far ahead; clock not synchronized (FAILED_PRECONDITION).</summary>
    FailedPrecondition,

    /// <summary>Overlaps another coordinator run (ABORTED).</summary>
    Aborted,

    /// <summary>The agent is shutting down (UNAVAILABLE).</summary>
    Unavailable,

    /// <summary>Too many runs held for coordinators (RESOURCE_EXHAUSTED).</summary>
    ResourceExhausted,
}
