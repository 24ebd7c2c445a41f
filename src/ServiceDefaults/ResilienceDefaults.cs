using Grpc.Core;
using Polly;
using Polly.Retry;

namespace Millisampler.ServiceDefaults;

/// <summary>
/// The retry rule both services share for gRPC calls between agent and coordinator: which failures are worth
/// another attempt, and an exponential backoff with jitter. Callers bound the total time themselves
/// (a cancellation token or a deadline), because only they know how long the answer stays useful.
/// </summary>
public static class ResilienceDefaults
{
    /// <summary>Default first retry delay; later delays double, with jitter.</summary>
    public static readonly TimeSpan BaseDelay = TimeSpan.FromMilliseconds(20);

    /// <summary>Default ceiling of one retry delay.</summary>
    public static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(1);

    /// <summary>
    /// True for statuses that say "the peer did not get to decide": transport failures, an attempt's deadline,
    /// overload. A peer's decision (INVALID_ARGUMENT, FAILED_PRECONDITION, ABORTED, NOT_FOUND, ...) is final.
    /// </summary>
    public static bool IsTransient(StatusCode code) => code is StatusCode.Unavailable
        or StatusCode.DeadlineExceeded
        or StatusCode.ResourceExhausted
        or StatusCode.Unknown
        or StatusCode.Internal;

    /// <summary>True when <paramref name="exception"/> is an <see cref="RpcException"/> with a transient status.</summary>
    public static bool IsTransient(Exception? exception) => exception is RpcException r && IsTransient(r.StatusCode);

    /// <summary>
    /// Retry options: exponential backoff from <paramref name="baseDelay"/> with jitter, up to
    /// <paramref name="maxRetryAttempts"/> retries, on transient gRPC failures only.
    /// </summary>
    public static RetryStrategyOptions CreateGrpcRetryOptions(int maxRetryAttempts, TimeSpan? baseDelay = null,
        TimeSpan? maxDelay = null) => new()
        {
            MaxRetryAttempts = maxRetryAttempts,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = baseDelay ?? BaseDelay,
            MaxDelay = maxDelay ?? MaxDelay,
            ShouldHandle = static args => ValueTask.FromResult(IsTransient(args.Outcome.Exception)),
        };
}
