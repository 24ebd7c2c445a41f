using Grpc.Core;
using Microsoft.Extensions.Options;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Membership;

namespace Millisampler.Coordinator.Captures;

/// <summary>
/// Optional periodic capture of every rack (<see cref="CaptureOptions.SweepPeriod"/>), so contention can be followed
/// over days without anyone asking. A rack busy with another capture is skipped for that period, never queued:
/// sweeps must not pile up behind a long manual capture.
/// </summary>
internal sealed partial class ContentionSweep : BackgroundService
{
    private readonly CaptureService _captures;
    private readonly MembershipRegistry _registry;
    private readonly CaptureOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ContentionSweep> _logger;

    public ContentionSweep(CaptureService captures, MembershipRegistry registry, IOptions<CaptureOptions> options,
        TimeProvider time, ILogger<ContentionSweep> logger)
    {
        _captures = captures;
        _registry = registry;
        _options = options.Value;
        _time = time;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_options.SweepPeriod <= TimeSpan.Zero)
        {
            return;
        }

        using var timer = new PeriodicTimer(_options.SweepPeriod, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await SweepOnceAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Starts one capture per rack; returns how many started.</summary>
    public async Task<int> SweepOnceAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<string> racks = _registry.Racks();
        Task<bool>[] starts = [.. racks.Select(rack => StartAsync(rack, cancellationToken))];
        bool[] started = await Task.WhenAll(starts).ConfigureAwait(false);
        return started.Count(s => s);
    }

    private async Task<bool> StartAsync(string rack, CancellationToken cancellationToken)
    {
        try
        {
            Capture c = await _captures.StartCaptureAsync(new StartCaptureRequest
            {
                Rack = rack,
                BinWidthNs = TimeNs.Of(_options.SweepBinWidth),
                Bins = (uint)_options.SweepBins,
                WaitIfBusy = false,
            }, cancellationToken).ConfigureAwait(false);
            LogSweepStarted(_logger, rack, c.CaptureId);
            return true;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.ResourceExhausted)
        {
            LogSweepSkipped(_logger, rack, ex.Status.Detail);
        }
        catch (RpcException ex)
        {
            LogSweepFailed(_logger, rack, ex.Status.Detail);
        }

        return false;
    }
}
