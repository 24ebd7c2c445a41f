using Grpc.Core;
using Microsoft.Extensions.Options;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Agents;
using Millisampler.ServiceDefaults;
using Polly;
using Polly.Retry;

namespace Millisampler.Coordinator.Captures;

/// <summary>What fetching one host's run gave.</summary>
/// <param name="Host">Host name.</param>
/// <param name="Run">The run, with <see cref="Run.Host"/> set to the registered host name; null when none came back.</param>
/// <param name="Kind">Collected, Partial (cut short) or Failed.</param>
/// <param name="Reason">Why partial or failed; empty otherwise.</param>
internal sealed record CollectOutcome(string Host, Run? Run, HostOutcomeKind Kind, string Reason);

/// <summary>
/// Fetches every scheduled host's run in parallel with GetRun. Each host gets
/// <see cref="CaptureOptions.CollectTimeout"/> in all; within it, transport failures are retried. An agent's own
/// DEADLINE_EXCEEDED means the run was not complete within that time and is final.
/// </summary>
internal sealed partial class RunCollector
{
    private readonly AgentClientPool _clients;
    private readonly TimeProvider _time;
    private readonly CaptureOptions _options;
    private readonly ILogger<RunCollector> _logger;
    private readonly ResiliencePipeline _pipeline;

    public RunCollector(AgentClientPool clients, TimeProvider time, IOptions<CaptureOptions> options, ILogger<RunCollector> logger)
    {
        _clients = clients;
        _time = time;
        _options = options.Value;
        _logger = logger;
        RetryStrategyOptions retry = ResilienceDefaults.CreateGrpcRetryOptions(int.MaxValue, _options.RetryBaseDelay, _options.RetryMaxDelay);
        retry.ShouldHandle = static args => ValueTask.FromResult(
            args.Outcome.Exception is RpcException { StatusCode: not StatusCode.DeadlineExceeded } r
            && ResilienceDefaults.IsTransient(r.StatusCode)
            && !args.Context.CancellationToken.IsCancellationRequested);
        _pipeline = new ResiliencePipelineBuilder { TimeProvider = time }.AddRetry(retry).Build();
    }

    /// <summary>Fetches run <paramref name="runId"/> from every target; <paramref name="onOutcome"/> sees each result as it comes.</summary>
    public async Task<IReadOnlyList<CollectOutcome>> CollectAllAsync(IReadOnlyList<AgentTarget> targets, string runId,
        Action<CollectOutcome>? onOutcome, CancellationToken cancellationToken)
    {
        var tasks = new Task<CollectOutcome>[targets.Count];
        for (int i = 0; i < targets.Count; i++)
        {
            tasks[i] = CollectOneAsync(targets[i], runId, onOutcome, cancellationToken);
        }

        return await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    private async Task<CollectOutcome> CollectOneAsync(AgentTarget target, string runId, Action<CollectOutcome>? onOutcome,
        CancellationToken cancellationToken)
    {
        await Task.Yield();
        DateTime deadline = _time.GetUtcNow().UtcDateTime + _options.CollectTimeout;
        using var budget = new CancellationTokenSource(_options.CollectTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, budget.Token);
        ResilienceContext context = ResilienceContextPool.Shared.Get(linked.Token);
        CollectOutcome outcome;
        try
        {
            var request = new GetRunRequest { RunId = runId };
            // As for ScheduleRun: the budget cuts retry delays, the call itself ends at its deadline.
            Run run = await _pipeline.ExecuteAsync(
                async _ => await _clients.Get(target.Host, target.Address).GetRunAsync(request, deadline: deadline, cancellationToken: cancellationToken).ConfigureAwait(false),
                context).ConfigureAwait(false);
            outcome = Classify(target.Host, run);
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
        {
            outcome = new(target.Host, null, HostOutcomeKind.HostOutcomeFailed, $"agent has no run {runId} (restarted, or the run expired): {StatusText.Describe(ex)}");
        }
        catch (RpcException ex)
        {
            outcome = new(target.Host, null, HostOutcomeKind.HostOutcomeFailed,
                $"run not fetched within {_options.CollectTimeout.TotalSeconds} s: {StatusText.Describe(ex)}");
        }
        catch (OperationCanceledException)
        {
            outcome = new(target.Host, null, HostOutcomeKind.HostOutcomeFailed, $"run not fetched within {_options.CollectTimeout.TotalSeconds} s");
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }

        if (outcome.Kind == HostOutcomeKind.HostOutcomeFailed)
        {
            LogCollectFailed(_logger, runId, target.Host, outcome.Reason);
        }

        onOutcome?.Invoke(outcome);
        return outcome;
    }

    /// <summary>Sorts a returned run into collected, partial (cut short) or failed.</summary>
    internal static CollectOutcome Classify(string host, Run run)
    {
        run.Host = host;
        return run.Status switch
        {
            RunStatus.Complete when run.BinsRecorded >= run.Bins => new(host, run, HostOutcomeKind.HostOutcomeCollected, ""),
            RunStatus.Complete or RunStatus.CutShort => new(host, run, HostOutcomeKind.HostOutcomePartial,
                $"cut short after {run.BinsRecorded} of {run.Bins} bins" + (string.IsNullOrEmpty(run.StatusDetail) ? "" : $": {run.StatusDetail}")),
            RunStatus.Failed => new(host, null, HostOutcomeKind.HostOutcomeFailed,
                "agent's run failed" + (string.IsNullOrEmpty(run.StatusDetail) ? "" : $": {run.StatusDetail}")),
            RunStatus.Lost => new(host, null, HostOutcomeKind.HostOutcomeFailed,
                "agent lost the run" + (string.IsNullOrEmpty(run.StatusDetail) ? "" : $": {run.StatusDetail}")),
            _ => new(host, null, HostOutcomeKind.HostOutcomeFailed, $"agent returned the run in state {run.Status}, not complete"),
        };
    }
}
