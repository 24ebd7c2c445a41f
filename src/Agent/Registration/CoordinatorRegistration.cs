using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Options;
using Millisampler.Agent.Sampling;
using Millisampler.Agent.Schedule;
using Millisampler.Agent.Service;
using Millisampler.Agent.Triggers;
using Millisampler.Contracts.V1;
using Millisampler.ServiceDefaults;
using Millisampler.ServiceDefaults.Security;
using Polly;
using Polly.Retry;

namespace Millisampler.Agent.Registration;

/// <summary>
/// Registers the agent with its coordinator and heartbeats at the interval the coordinator asks for. While the
/// coordinator is away every call is retried with exponential backoff and jitter; a heartbeat answered NOT_FOUND
/// (the coordinator restarted and forgot the host) leads to a new registration. Sampling and storing never wait
/// on any of it. Without <see cref="AgentOptions.CoordinatorAddress"/> the agent runs stand-alone.
/// </summary>
internal sealed partial class CoordinatorRegistration : BackgroundService, ITriggerSink
{
    /// <summary>Heartbeat interval used when the coordinator states none.</summary>
    internal static readonly TimeSpan DefaultHeartbeatInterval = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan MinHeartbeatInterval = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan MaxHeartbeatInterval = TimeSpan.FromMinutes(10);

    private readonly AgentOptions _options;
    private readonly HostIdentity _identity;
    private readonly RunArbiter _runs;
    private readonly AgentAddress _address;
    private readonly TimeProvider _time;
    private readonly IHostApplicationLifetime? _lifetime;
    private readonly SecurityOptions _security;
    private readonly TlsCertificates? _certificates;
    private readonly ILogger<CoordinatorRegistration> _logger;
    private readonly ResiliencePipeline _registerPipeline;
    private readonly ResiliencePipeline _heartbeatPipeline;
    private int _registrations;
    private int _heartbeats;
    private volatile MembershipService.MembershipServiceClient? _client;

    public CoordinatorRegistration(IOptions<AgentOptions> options, HostIdentity identity, RunArbiter runs, AgentAddress address,
        TimeProvider time, ILogger<CoordinatorRegistration> logger, IHostApplicationLifetime? lifetime = null,
        IOptions<SecurityOptions>? security = null, TlsCertificates? certificates = null)
    {
        _security = security?.Value ?? new SecurityOptions { Insecure = true };
        _certificates = certificates;
        _options = options.Value;
        _identity = identity;
        _runs = runs;
        _address = address;
        _time = time;
        _lifetime = lifetime;
        _logger = logger;
        _registerPipeline = BuildPipeline("Register", static e => e is RpcException);
        _heartbeatPipeline = BuildPipeline("Heartbeat", ResilienceDefaults.IsTransient);
    }

    /// <summary>Successful registrations so far.</summary>
    public int Registrations => Volatile.Read(ref _registrations);

    /// <summary>Successful heartbeats so far.</summary>
    public int Heartbeats => Volatile.Read(ref _heartbeats);

    /// <summary>Coordinator id from the last registration; empty before one.</summary>
    public string CoordinatorId { get; private set; } = "";

    /// <summary>Reports a fired trigger rule on the registration's channel (same address and mutual TLS); null before the channel exists or stand-alone.</summary>
    public async Task<TriggerResponse?> ReportAsync(TriggerReport report, CancellationToken cancellationToken)
    {
        var client = _client;
        if (client is null)
        {
            return null;
        }

        return await client.ReportTriggerAsync(report, deadline: Deadline(), cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var uri = AgentOptionsValidator.ToUri(_options.CoordinatorAddress, _security.Insecure);
        if (uri is null)
        {
            Log.StandAlone(_logger);
            return;
        }

        try
        {
            await WaitUntilServingAsync(stoppingToken).ConfigureAwait(false);
            var handler = new SocketsHttpHandler { ConnectTimeout = _options.CoordinatorCallTimeout, PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan };
            if (!_security.Insecure && _certificates is not null)
            {
                // Present this agent's certificate; talk only to a coordinator certificate from the same CA.
                handler.UseMutualTls(_certificates, MutualTls.RequireRole(Roles.Coordinator));
            }

            using var channel = GrpcChannel.ForAddress(uri, new GrpcChannelOptions { HttpHandler = handler });
            var client = new MembershipService.MembershipServiceClient(channel);
            _client = client;
            while (!stoppingToken.IsCancellationRequested)
            {
                var interval = await RegisterAsync(client, uri, stoppingToken).ConfigureAwait(false);
                await HeartbeatUntilLostAsync(client, interval, stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task<TimeSpan> RegisterAsync(MembershipService.MembershipServiceClient client, Uri uri, CancellationToken cancellationToken)
    {
        var response = await _registerPipeline.ExecuteAsync(async ct =>
        {
            var request = new RegisterRequest
            {
                Host = _identity.Host,
                Rack = _identity.Rack,
                Address = _address.Resolve(),
                Clock = _runs.ReadClock(),
                AgentVersion = AgentVersion.Text,
            };
            request.Interfaces.AddRange(_identity.Interfaces);
            return await client.RegisterAsync(request, deadline: Deadline(), cancellationToken: ct).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);

        Interlocked.Increment(ref _registrations);
        CoordinatorId = response.CoordinatorId;
        var interval = response.HeartbeatIntervalMs == 0
            ? DefaultHeartbeatInterval
            : TimeSpan.FromMilliseconds(Math.Clamp(response.HeartbeatIntervalMs, MinHeartbeatInterval.TotalMilliseconds, MaxHeartbeatInterval.TotalMilliseconds));
        Log.Registered(_logger, uri.ToString(), response.CoordinatorId, _identity.Host, _identity.Rack, _address.Resolve(), interval.TotalMilliseconds);
        return interval;
    }

    /// <summary>Heartbeats until the coordinator no longer knows the host or answers with a final error.</summary>
    private async Task HeartbeatUntilLostAsync(MembershipService.MembershipServiceClient client, TimeSpan interval, CancellationToken cancellationToken)
    {
        while (true)
        {
            await Task.Delay(interval, _time, cancellationToken).ConfigureAwait(false);
            try
            {
                await _heartbeatPipeline.ExecuteAsync(async ct =>
                {
                    var request = new HeartbeatRequest { Host = _identity.Host, Rack = _identity.Rack, Clock = _runs.ReadClock() };
                    await client.HeartbeatAsync(request, deadline: Deadline(), cancellationToken: ct).ConfigureAwait(false);
                }, cancellationToken).ConfigureAwait(false);
                Interlocked.Increment(ref _heartbeats);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
            {
                Log.Forgotten(_logger, e.Status.Detail);
                return;
            }
            catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
            {
                Observability.CoordinatorCallFailures.Add(1, new KeyValuePair<string, object?>("call", "heartbeat"));
                Log.HeartbeatRefused(_logger, e.StatusCode, e.Status.Detail);
                return;
            }
        }
    }

    private ResiliencePipeline BuildPipeline(string call, Func<Exception, bool> retryable)
    {
        RetryStrategyOptions retry = ResilienceDefaults.CreateGrpcRetryOptions(int.MaxValue, _options.RegistrationRetryBaseDelay, _options.RegistrationRetryMaxDelay);
        retry.ShouldHandle = args => ValueTask.FromResult(
            args.Outcome.Exception is { } e && retryable(e) && !args.Context.CancellationToken.IsCancellationRequested);
        retry.OnRetry = args =>
        {
            Observability.CoordinatorCallFailures.Add(1, new KeyValuePair<string, object?>("call", ServiceDefaults.TelemetryLabels.Snake(call)));
            var e = args.Outcome.Exception as RpcException;
            Log.Retrying(_logger, call, args.AttemptNumber + 1, e?.StatusCode ?? StatusCode.Unknown, e?.Status.Detail ?? args.Outcome.Exception?.Message ?? "", args.RetryDelay.TotalMilliseconds);
            return ValueTask.CompletedTask;
        };
        return new ResiliencePipelineBuilder { TimeProvider = _time }.AddRetry(retry).Build();
    }

    // A gRPC deadline travels to the server as wall-clock time, so it comes from the system clock, not the injected one.
    private DateTime Deadline() => TimeProvider.System.GetUtcNow().UtcDateTime + _options.CoordinatorCallTimeout;

    /// <summary>Registration names the bound port, so it waits until the server listens.</summary>
    private async Task WaitUntilServingAsync(CancellationToken cancellationToken)
    {
        if (_lifetime is null || _lifetime.ApplicationStarted.IsCancellationRequested)
        {
            return;
        }

        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = _lifetime.ApplicationStarted.Register(() => started.TrySetResult());
        await started.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }
}
