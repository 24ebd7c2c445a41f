using Microsoft.Extensions.Options;
using Millisampler.Coordinator.Membership;
using Millisampler.Coordinator.Storage;

namespace Millisampler.Coordinator.Sweeps;

/// <summary>Runs the <see cref="SweepScheduler"/> every <see cref="SweepOptions.TickInterval"/>; on stop, lets running sweep captures finish and gives up its leases.</summary>
internal sealed partial class SweepRunner : BackgroundService
{
    private readonly SweepOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<SweepRunner> _logger;

    public SweepRunner(ISweepStore store, ILeaseStore leases, ISweepCaptures captures, IOptions<SweepOptions> options,
        IOptions<MembershipOptions> membership, TimeProvider time, ILogger<SweepRunner> logger)
    {
        _options = options.Value;
        _time = time;
        _logger = logger;
        Scheduler = new SweepScheduler(store, leases, captures, time, membership.Value.EffectiveCoordinatorId, _options.LeaseDuration, logger);
    }

    public SweepScheduler Scheduler { get; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_options.Enabled)
        {
            return;
        }

        using var timer = new PeriodicTimer(_options.TickInterval, _time);
        try
        {
            do
            {
                try
                {
                    await Scheduler.TickAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    LogTickFailed(_logger, ex);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await Scheduler.DrainAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
            await Scheduler.ReleaseAllAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogTickFailed(_logger, ex);
        }
    }

    [LoggerMessage(405, LogLevel.Warning, "Sweep scheduling step failed; retried at the next step")]
    private static partial void LogTickFailed(ILogger logger, Exception ex);
}
