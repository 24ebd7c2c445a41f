using Microsoft.Extensions.Options;

namespace Millisampler.Agent.Storage;

/// <summary>Runs <see cref="RunStore.EnforceRetentionAsync"/> at start and then every RetentionIntervalSeconds.</summary>
internal sealed partial class RunStoreRetentionService(
    RunStore store,
    IOptions<RunStoreOptions> options,
    TimeProvider timeProvider,
    ILogger<RunStoreRetentionService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var interval = TimeSpan.FromSeconds(options.Value.RetentionIntervalSeconds);
        using var timer = new PeriodicTimer(interval, timeProvider);
        try
        {
            do
            {
                try
                {
                    await store.EnforceRetentionAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // A full or read-only disk must not stop the agent; the next pass retries.
                    Log.RetentionFailed(logger, options.Value.RetentionIntervalSeconds, e);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2121, EventName = "RunStoreRetentionFailed", Level = LogLevel.Error,
            Message = "Run store retention pass failed; next try in {IntervalSeconds} s")]
        public static partial void RetentionFailed(ILogger logger, int intervalSeconds, Exception exception);
    }
}
