using Grpc.Core;
using Microsoft.Extensions.Options;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Agents;

namespace Millisampler.Coordinator.Membership;

/// <summary>
/// Calls GetInfo on each agent when it registers and then every <see cref="MembershipOptions.RttProbeInterval"/>:
/// the round trip feeds the lead-time estimate, the answer gives the agent's limits (max bins, bin widths,
/// max lead), and the call keeps the channel's connection warm. Also drops hosts that stayed stale too long.
/// Periodic probes are spread over the period and at most <see cref="MaxProbesInFlight"/> run at once.
/// </summary>
internal sealed partial class AgentProber : BackgroundService
{
    private const int MaxProbesInFlight = 64;
    private readonly SemaphoreSlim _inFlight = new(MaxProbesInFlight);
    private readonly MembershipRegistry _registry;
    private readonly AgentClientPool _clients;
    private readonly IOptionsMonitor<MembershipOptions> _options;
    private readonly TimeProvider _time;
    private readonly TaiClock _clock;
    private readonly ILogger<AgentProber> _logger;

    public AgentProber(MembershipRegistry registry, AgentClientPool clients, IOptionsMonitor<MembershipOptions> options,
        TimeProvider time, TaiClock clock, ILogger<AgentProber> logger)
    {
        _clock = clock;
        _registry = registry;
        _clients = clients;
        _options = options;
        _time = time;
        _logger = logger;
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(ProbeOnRegistrationAsync(stoppingToken), ProbePeriodicallyAsync(stoppingToken));

    /// <summary>Probes one host; false when the call failed. Never throws except for cancellation.</summary>
    public async Task<bool> ProbeAsync(string host, CancellationToken cancellationToken)
    {
        HostState? state = _registry.Find(host);
        if (state is null)
        {
            return false;
        }

        TimeSpan timeout = _options.CurrentValue.RttProbeTimeout;
        // A gate on probes in flight: at registration storms or with thousands of agents, unbounded probes time out
        // in the coordinator's own queue and their round trips measure that queue, not the network.
        await _inFlight.WaitAsync(cancellationToken).ConfigureAwait(false);
        long started = _time.GetTimestamp();
        try
        {
            long t1 = _clock.NowNs();
            AgentInfo info = await _clients.Get(state.Host, state.Address).GetInfoAsync(new GetInfoRequest(),
                deadline: _time.GetUtcNow().UtcDateTime + timeout, cancellationToken: cancellationToken);
            long t4 = _clock.NowNs();
            _registry.RecordRoundTrip(host, _time.GetElapsedTime(started));
            _registry.RecordLimits(host, AgentLimits.From(info));
            if (ClockOffsetEstimator.Estimate(t1, info.ClockSample, t4) is { } o)
            {
                _registry.RecordOffset(host, new ClockOffset(o.OffsetNs, o.BoundNs, _time.GetUtcNow()));
            }

            return true;
        }
        catch (RpcException ex) when (!cancellationToken.IsCancellationRequested)
        {
            LogProbeFailed(_logger, host, state.Address, ex.StatusCode, ex.Status.Detail);
            return false;
        }
        finally
        {
            _inFlight.Release();
        }
    }

    private async Task ProbeOnRegistrationAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (string host in _registry.Registrations.ReadAllAsync(stoppingToken))
            {
                // Not awaited in turn: one slow agent must not delay the probes of the others.
                _ = ProbeQuietlyAsync(host, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task ProbeQuietlyAsync(string host, CancellationToken stoppingToken)
    {
        try
        {
            await ProbeAsync(host, stoppingToken).ConfigureAwait(false);
        }
        catch (Exception) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: the probe no longer matters.
        }
    }

    /// <summary>Probes every host once, host i at i·period/N into the period rather than all at the tick.</summary>
    private async Task ProbeSpreadAsync(TimeSpan period, CancellationToken stoppingToken)
    {
        IReadOnlyList<HostState> hosts = [.. _registry.All()];
        var probes = new List<Task>(hosts.Count);
        long start = _time.GetTimestamp();
        for (int i = 0; i < hosts.Count; i++)
        {
            TimeSpan ahead = (period * i / hosts.Count) - _time.GetElapsedTime(start);
            if (ahead > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(ahead, _time, stoppingToken).ConfigureAwait(false);
            }

            probes.Add(ProbeAsync(hosts[i].Host, stoppingToken));
        }

        await Task.WhenAll(probes).ConfigureAwait(false);
    }

    private async Task ProbePeriodicallyAsync(CancellationToken stoppingToken)
    {
        MembershipOptions o = _options.CurrentValue;
        TimeSpan period = o.RttProbeInterval > TimeSpan.Zero ? o.RttProbeInterval : o.HeartbeatInterval;
        using var timer = new PeriodicTimer(period, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                _registry.ForgetLongStaleHosts();
                if (_options.CurrentValue.RttProbeInterval > TimeSpan.Zero)
                {
                    await ProbeSpreadAsync(period, stoppingToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
