using Millisampler.Agent.Clock;
using Millisampler.Common.Text;
using Millisampler.Common.Time;

namespace Millisampler.Agent.Schedule;

/// <summary>
/// The continuous schedule: every <see cref="ScheduleOptions.Period"/>, after a random jitter, one run of each
/// configured bin width, one after another, each stored. Coordinator runs take precedence
/// (<see cref="RunArbiter.RecordLocalAsync"/> skips or cuts local runs that would be in their way).
/// </summary>
internal sealed partial class ContinuousSchedule : BackgroundService
{
    private readonly RunArbiter _runs;
    private readonly HostClock _clock;
    private readonly TimeProvider _time;
    private readonly ScheduleOptions _options;
    private readonly ILogger<ContinuousSchedule> _logger;
    private readonly Random _random;

    public ContinuousSchedule(RunArbiter runs, HostClock clock, TimeProvider time, ScheduleOptions options,
        ILogger<ContinuousSchedule> logger, Random? random = null)
    {
        _runs = runs;
        _clock = clock;
        _time = time;
        _options = options;
        _logger = logger;
        _random = random ?? Random.Shared;
    }

    /// <summary>Cycles begun since start.</summary>
    public int Cycles { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_options.Enabled)
        {
            Log.Disabled(_logger);
            return;
        }

        var widths = _options.BinWidthsNs;
        long periodNs = TimeNs.Of(_options.Period);
        long jitterNs = TimeNs.Of(_options.Jitter);
        long leadNs = TimeNs.Of(_options.StartLead);
        long nominal = _clock.NowTaiNs();
        Log.Started(_logger, _options.Period, _options.Jitter, string.Join(",", widths.Select(DurationText.Format)), _options.Bins);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                long at = SchedulePlanner.Jittered(nominal, jitterNs, _random);
                long waitNs = at - _clock.NowTaiNs();
                Log.CycleDue(_logger, Cycles + 1, at, Math.Max(0, waitNs) / 1_000_000);
                if (waitNs > 0)
                {
                    await Task.Delay(TimeNs.ToTimeSpan(waitNs), _time, stoppingToken).ConfigureAwait(false);
                }

                Cycles++;
                Log.CycleStarted(_logger, Cycles, nominal, (at - nominal) / 1_000_000);
                foreach (long width in widths)
                {
                    await _runs.RecordLocalAsync(width, _options.Bins, leadNs, stoppingToken).ConfigureAwait(false);
                }

                nominal = SchedulePlanner.NextNominal(nominal, periodNs, _clock.NowTaiNs());
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
