using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Threading.RateLimiting;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Millisampler.Coordinator.Api;

/// <summary>How many captures engineers may start. Section <c>Coordinator:RateLimits</c>.</summary>
public sealed class RateLimitOptions
{
    /// <summary>Configuration section.</summary>
    public const string SectionName = "Coordinator:RateLimits";

    /// <summary>Captures one caller (authenticated identity, else peer address) may start per minute, also as a burst. Default 20.</summary>
    [Range(1, 100_000)]
    public int CapturesPerCallerPerMinute { get; set; } = 20;

    /// <summary>Captures all callers together may start on one rack per minute, also as a burst. Default 30.</summary>
    [Range(1, 100_000)]
    public int CapturesPerRackPerMinute { get; set; } = 30;
}

/// <summary>
/// The per-caller and per-rack limits on StartCapture from the gRPC and JSON APIs (not the coordinator's own
/// sweeps and triggers): token buckets from System.Threading.RateLimiting, refilled evenly over a minute.
/// A refused request gets RESOURCE_EXHAUSTED naming the limit, with the wait in the message and in a
/// <c>retry-after</c> trailer (seconds), which the JSON API turns into a Retry-After header.
/// </summary>
internal sealed partial class CaptureRateLimiter : IDisposable
{
    /// <summary>Trailer (gRPC) and header (HTTP) carrying the seconds to wait.</summary>
    public const string RetryAfterKey = "retry-after";

    private readonly PartitionedRateLimiter<(string Caller, string Rack)> _limiter;
    private readonly RateLimitOptions _options;
    private readonly ILogger<CaptureRateLimiter> _logger;

    public CaptureRateLimiter(IOptions<RateLimitOptions> options, ILogger<CaptureRateLimiter> logger)
    {
        _options = options.Value;
        _logger = logger;
        var perCaller = PartitionedRateLimiter.Create<(string Caller, string Rack), string>(key =>
            RateLimitPartition.GetTokenBucketLimiter(key.Caller, _ => Bucket(_options.CapturesPerCallerPerMinute)));
        var perRack = PartitionedRateLimiter.Create<(string Caller, string Rack), string>(key =>
            RateLimitPartition.GetTokenBucketLimiter(key.Rack, _ => Bucket(_options.CapturesPerRackPerMinute)));
        _limiter = PartitionedRateLimiter.CreateChained(perCaller, perRack);
    }

    /// <summary>Takes one capture from <paramref name="caller"/>'s and <paramref name="rack"/>'s budgets, or throws RESOURCE_EXHAUSTED.</summary>
    public void Acquire(string caller, string rack)
    {
        using RateLimitLease lease = _limiter.AttemptAcquire((caller, rack));
        if (lease.IsAcquired)
        {
            return;
        }

        // Both buckets refill one token per minute/limit; the wait is at most that of the slower one.
        TimeSpan wait = lease.TryGetMetadata(MetadataName.RetryAfter, out TimeSpan retryAfter)
            ? retryAfter
            : TimeSpan.FromMinutes(1.0 / Math.Min(_options.CapturesPerCallerPerMinute, _options.CapturesPerRackPerMinute));
        int seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
        LogRefused(_logger, caller, rack, seconds);
        string message = $"too many captures: at most {_options.CapturesPerCallerPerMinute} a minute per caller " +
            $"(Coordinator:RateLimits:CapturesPerCallerPerMinute) and {_options.CapturesPerRackPerMinute} a minute per rack " +
            $"(Coordinator:RateLimits:CapturesPerRackPerMinute) for '{caller}' on rack '{rack}'; retry after {seconds} s";
        throw new RpcException(new Status(StatusCode.ResourceExhausted, message),
            new Metadata { { RetryAfterKey, seconds.ToString(CultureInfo.InvariantCulture) } });
    }

    public void Dispose() => _limiter.Dispose();

    private static TokenBucketRateLimiterOptions Bucket(int perMinute) => new()
    {
        TokenLimit = perMinute,
        TokensPerPeriod = 1,
        ReplenishmentPeriod = TimeSpan.FromMinutes(1.0 / perMinute),
        QueueLimit = 0,
        AutoReplenishment = true,
    };

    [LoggerMessage(510, LogLevel.Warning, "StartCapture from {Caller} on rack {Rack} refused by the rate limit; retry after {RetryAfterSeconds} s", EventName = "CaptureRateLimited")]
    private static partial void LogRefused(ILogger logger, string caller, string rack, int retryAfterSeconds);
}
