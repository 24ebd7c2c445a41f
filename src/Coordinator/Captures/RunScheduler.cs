using Grpc.Core;
using Microsoft.Extensions.Options;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Agents;
using Millisampler.Coordinator.Membership;
using Millisampler.ServiceDefaults;
using Polly;
using Polly.Retry;

namespace Millisampler.Coordinator.Captures;

/// <summary>An agent to call: host name and the address it registered.</summary>
internal sealed record AgentTarget(string Host, string Address);

/// <summary>How one host answered ScheduleRun.</summary>
/// <param name="Host">Host name.</param>
/// <param name="Kind">Scheduled, Refused (the agent said no) or Failed (no usable answer in time).</param>
/// <param name="Reason">Empty when scheduled; otherwise the agent's or the transport's words.</param>
/// <param name="Clock">Clock state the agent reported when it accepted; null otherwise.</param>
/// <param name="Attempts">ScheduleRun calls made.</param>
internal sealed record ScheduleOutcome(string Host, HostOutcomeKind Kind, string Reason, ClockState? Clock, int Attempts);

/// <summary>
/// Sends ScheduleRun to every host of a capture at once. Transient failures are retried (exponential backoff with
/// jitter) only while the start instant is still ahead: every attempt's deadline, and the retry budget as a whole,
/// end at start − <see cref="CaptureOptions.ScheduleMargin"/>. An agent that arms after its start instant would
/// record a shifted series, so a late answer is worth nothing; a host that cannot be reached in time is reported
/// failed and the capture goes on without it.
/// </summary>
internal sealed partial class RunScheduler
{
    private static readonly ResiliencePropertyKey<Attempts> AttemptsKey = new("millisampler.schedule-attempts");

    /// <summary>Shortest attempt worth sending, ns.</summary>
    private const long MinAttemptNs = 2_000_000;

    private readonly AgentClientPool _clients;
    private readonly MembershipRegistry _registry;
    private readonly TaiClock _clock;
    private readonly TimeProvider _time;
    private readonly CaptureOptions _options;
    private readonly ILogger<RunScheduler> _logger;
    private readonly ResiliencePipeline _pipeline;

    public RunScheduler(AgentClientPool clients, MembershipRegistry registry, TaiClock clock, TimeProvider time,
        IOptions<CaptureOptions> options, ILogger<RunScheduler> logger)
    {
        _clients = clients;
        _registry = registry;
        _clock = clock;
        _time = time;
        _options = options.Value;
        _logger = logger;

        RetryStrategyOptions retry = ResilienceDefaults.CreateGrpcRetryOptions(int.MaxValue, _options.RetryBaseDelay, _options.RetryMaxDelay);
        retry.ShouldHandle = static args => ValueTask.FromResult(
            ResilienceDefaults.IsTransient(args.Outcome.Exception)
            && !args.Context.CancellationToken.IsCancellationRequested
            && args.Context.Properties.GetValue(AttemptsKey, null!).TimeLeft());
        retry.OnRetry = args =>
        {
            Attempts a = args.Context.Properties.GetValue(AttemptsKey, null!);
            Observability.ScheduleRetries.Add(1);
            LogScheduleRetry(_logger, a.Target.Host, a.Count, args.RetryDelay.TotalMilliseconds,
                args.Outcome.Exception is RpcException r ? StatusText.Describe(r) : args.Outcome.Exception?.Message ?? "");
            return ValueTask.CompletedTask;
        };
        _pipeline = new ResiliencePipelineBuilder { TimeProvider = time }.AddRetry(retry).Build();
    }

    /// <summary>Schedules the run on every target in parallel; <paramref name="onOutcome"/> sees each answer as it comes.</summary>
    public async Task<IReadOnlyList<ScheduleOutcome>> ScheduleAllAsync(IReadOnlyList<AgentTarget> targets,
        ScheduleRunRequest request, Action<ScheduleOutcome>? onOutcome, CancellationToken cancellationToken)
    {
        var tasks = new Task<ScheduleOutcome>[targets.Count];
        for (int i = 0; i < targets.Count; i++)
        {
            tasks[i] = ScheduleOneAsync(targets[i], request, onOutcome, cancellationToken);
        }

        return await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    private async Task<ScheduleOutcome> ScheduleOneAsync(AgentTarget target, ScheduleRunRequest request,
        Action<ScheduleOutcome>? onOutcome, CancellationToken cancellationToken)
    {
        // Yield first so that the fan-out starts every call before any one of them runs its synchronous part.
        await Task.Yield();
        long budgetEndTai = request.StartTaiNs - TimeNs.Of(_options.ScheduleMargin);
        var attempts = new Attempts(this, target, request, budgetEndTai, cancellationToken);
        ScheduleOutcome outcome;
        long remainingNs = budgetEndTai - _clock.NowNs();
        if (remainingNs < MinAttemptNs)
        {
            outcome = new(target.Host, HostOutcomeKind.HostOutcomeFailed,
                "not tried: the start instant was already within the schedule margin", null, 0);
        }
        else
        {
            using var budget = new CancellationTokenSource(TimeNs.ToTimeSpan(remainingNs), _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, budget.Token);
            ResilienceContext context = ResilienceContextPool.Shared.Get(linked.Token);
            context.Properties.Set(AttemptsKey, attempts);
            try
            {
                // The budget token only cuts retry delays short; a call in flight ends at its own deadline (never
                // past the budget), so its status says what happened (DEADLINE_EXCEEDED) rather than CANCELLED.
                ScheduleRunResponse response = await _pipeline.ExecuteAsync(
                    static (_, a) => new ValueTask<ScheduleRunResponse>(a.CallAsync()), context, attempts).ConfigureAwait(false);
                outcome = response.StartTaiNs == request.StartTaiNs || response.StartTaiNs == 0
                    ? new(target.Host, HostOutcomeKind.HostOutcomeScheduled, "", response.Clock, attempts.Count)
                    : new(target.Host, HostOutcomeKind.HostOutcomeFailed,
                        $"agent accepted the run but will start it at TAI {response.StartTaiNs} ns instead of {request.StartTaiNs} ns", response.Clock, attempts.Count);
            }
            catch (Exception) when (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException(cancellationToken);
            }
            catch (RpcException ex) when (!ResilienceDefaults.IsTransient(ex.StatusCode) && ex.StatusCode != StatusCode.Cancelled)
            {
                outcome = new(target.Host, HostOutcomeKind.HostOutcomeRefused, StatusText.Describe(ex), null, attempts.Count);
            }
            catch (Exception ex) when (ex is RpcException or OperationCanceledException)
            {
                string last = attempts.Last is { } l ? StatusText.Describe(l) : "no answer";
                outcome = new(target.Host, HostOutcomeKind.HostOutcomeFailed,
                    $"no answer before the start instant (tried {attempts.Count} time(s) until start − {_options.ScheduleMargin.TotalMilliseconds} ms; last: {last})",
                    null, attempts.Count);
            }
            finally
            {
                ResilienceContextPool.Shared.Return(context);
            }
        }

        if (outcome.Kind != HostOutcomeKind.HostOutcomeScheduled)
        {
            LogHostNotScheduled(_logger, request.RunId, target.Host, outcome.Kind, outcome.Reason);
        }

        onOutcome?.Invoke(outcome);
        return outcome;
    }

    /// <summary>Per-host attempt state, shared by the pipeline's callbacks.</summary>
    private sealed class Attempts(RunScheduler owner, AgentTarget target, ScheduleRunRequest request, long budgetEndTai,
        CancellationToken cancellationToken)
    {
        public AgentTarget Target => target;

        public int Count { get; private set; }

        public RpcException? Last { get; private set; }

        /// <summary>
        /// True while another attempt could still get an answer before start − margin. Below 2 ms there is none worth sending:
        /// grpc-timeout travels in whole milliseconds, and a timeout that rounds to 0 reaches the agent as no deadline.
        /// </summary>
        public bool TimeLeft() => budgetEndTai - owner._clock.NowNs() >= MinAttemptNs;

        public async Task<ScheduleRunResponse> CallAsync()
        {
            Count++;
            long remainingNs = budgetEndTai - owner._clock.NowNs();
            if (remainingNs < MinAttemptNs)
            {
                throw new OperationCanceledException("No time left before the start instant.");
            }

            TimeSpan timeout = TimeNs.ToTimeSpan(Math.Min(TimeNs.Of(owner._options.ScheduleAttemptTimeout), remainingNs));
            long started = owner._time.GetTimestamp();
            try
            {
                ScheduleRunResponse response = await owner._clients.Get(target.Host, target.Address).ScheduleRunAsync(request,
                    deadline: owner._time.GetUtcNow().UtcDateTime + timeout, cancellationToken: cancellationToken).ConfigureAwait(false);
                owner._registry.RecordRoundTrip(target.Host, owner._time.GetElapsedTime(started));
                return response;
            }
            catch (RpcException ex)
            {
                Last = ex;
                throw;
            }
        }
    }
}
