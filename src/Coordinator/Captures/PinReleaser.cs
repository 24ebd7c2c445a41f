using Grpc.Core;
using Microsoft.Extensions.Options;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Agents;
using Millisampler.Coordinator.Membership;
using Millisampler.Coordinator.Storage;

namespace Millisampler.Coordinator.Captures;

/// <summary>
/// Works off the pin releases the coordinator owes (<see cref="IPinReleaseStore"/>): every
/// <see cref="CaptureOptions.PinReleaseInterval"/> it sends ReleaseRun to each owed host that is registered, and
/// forgets the release once the agent answered (released or not: an unknown run holds no pin), or after
/// <see cref="CaptureOptions.PinReleaseGiveUp"/>, when the agent's own pin has lapsed anyway. Releases owed at a
/// crash are in the database, so they are sent after the restart, as soon as the hosts register again.
/// </summary>
internal sealed partial class PinReleaser : BackgroundService
{
    /// <summary>Releases looked at per pass.</summary>
    internal const int BatchSize = 500;

    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(5);

    private readonly IPinReleaseStore _store;
    private readonly MembershipRegistry _registry;
    private readonly AgentClientPool _clients;
    private readonly TimeProvider _time;
    private readonly CaptureOptions _options;
    private readonly string _coordinatorId;
    private readonly ILogger<PinReleaser> _logger;

    public PinReleaser(IPinReleaseStore store, MembershipRegistry registry, AgentClientPool clients, TimeProvider time,
        IOptions<CaptureOptions> options, IOptions<MembershipOptions> membership, ILogger<PinReleaser> logger)
    {
        _store = store;
        _registry = registry;
        _clients = clients;
        _time = time;
        _options = options.Value;
        _coordinatorId = membership.Value.EffectiveCoordinatorId;
        _logger = logger;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.PinReleaseInterval, _time);
        try
        {
            do
            {
                try
                {
                    await PassAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The database may be away for a while; the releases wait in it.
                    LogPassFailed(_logger, e.Message);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One pass over the owed releases; returns how many were settled (sent or given up).</summary>
    internal async Task<int> PassAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<PinRelease> owed = await _store.ListPinReleasesAsync(BatchSize, cancellationToken).ConfigureAwait(false);
        long now = _time.UnixNowNs();
        int settled = 0;
        foreach (PinRelease release in owed)
        {
            if (now - release.SinceUnixNs > TimeNs.Of(_options.PinReleaseGiveUp))
            {
                LogGaveUp(_logger, release.RunId, release.Host);
                Observability.PinReleases.Add(1, new KeyValuePair<string, object?>("outcome", "given_up"));
                await _store.RemovePinReleaseAsync(release.RunId, release.Host, cancellationToken).ConfigureAwait(false);
                settled++;
                continue;
            }

            if (_registry.Find(release.Host) is not { } host)
            {
                continue;
            }

            string? outcome = await SendAsync(release, host.Address, cancellationToken).ConfigureAwait(false);
            if (outcome is not null)
            {
                Observability.PinReleases.Add(1, new KeyValuePair<string, object?>("outcome", outcome));
                await _store.RemovePinReleaseAsync(release.RunId, release.Host, cancellationToken).ConfigureAwait(false);
                settled++;
            }
        }

        return settled;
    }

    /// <summary>The outcome label when the agent answered for good; null when it should be tried again.</summary>
    private async Task<string?> SendAsync(PinRelease release, string address, CancellationToken cancellationToken)
    {
        try
        {
            ReleaseRunResponse response = await _clients.Get(release.Host, address)
                .ReleaseRunAsync(new ReleaseRunRequest { RunId = release.RunId, Requester = _coordinatorId },
                    deadline: _time.GetUtcNow().UtcDateTime + CallTimeout, cancellationToken: cancellationToken)
                .ResponseAsync.ConfigureAwait(false);
            LogReleased(_logger, release.RunId, release.Host, response.Released);
            return response.Released ? "released" : "not_pinned";
        }
        catch (RpcException e) when (e.StatusCode is StatusCode.Unimplemented or StatusCode.InvalidArgument or StatusCode.NotFound)
        {
            // An older agent, or a run id it cannot hold: nothing to release there; its pin lapses on its own.
            LogNotReleasable(_logger, release.RunId, release.Host, e.Status.Detail);
            return "not_supported";
        }
        catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
        {
            LogRetryLater(_logger, release.RunId, release.Host, e.StatusCode, e.Status.Detail);
            return null;
        }
    }

    [LoggerMessage(240, LogLevel.Information, "Released the pin of run {RunId} on host {Host} (it was pinned: {WasPinned}); the coordinator will not fetch it")]
    private static partial void LogReleased(ILogger logger, string runId, string host, bool wasPinned);

    [LoggerMessage(241, LogLevel.Warning, "Pin of run {RunId} on host {Host} not released: {Status} {Detail}; trying again later")]
    private static partial void LogRetryLater(ILogger logger, string runId, string host, StatusCode status, string detail);

    [LoggerMessage(242, LogLevel.Warning, "Gave up releasing the pin of run {RunId} on host {Host}: the host did not answer within the give-up time; its own pin has lapsed by now")]
    private static partial void LogGaveUp(ILogger logger, string runId, string host);

    [LoggerMessage(243, LogLevel.Information, "Host {Host} cannot release run {RunId} ({Detail}); its pin lapses on its own")]
    private static partial void LogNotReleasable(ILogger logger, string runId, string host, string detail);

    [LoggerMessage(244, LogLevel.Warning, "Pin releases not worked off this pass: {Reason}; they stay owed in the database")]
    private static partial void LogPassFailed(ILogger logger, string reason);
}
