using System.Collections.Concurrent;
using Grpc.Core;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Triggers;

namespace Millisampler.Coordinator.Tests.Infrastructure;

/// <summary>
/// An <see cref="ITriggerGate"/> that records every submission and answers <see cref="Decision"/> with a made-up
/// capture id (<c>fake-1</c>, ...), or throws <see cref="Throw"/>; with <see cref="Start"/>, every submission starts
/// its capture through it (no cooldown, no de-duplication). For tests of what submits, not of the gate's policy.
/// </summary>
internal sealed class FakeTriggerGate : ITriggerGate
{
    private int _count;

    public ConcurrentQueue<TriggerSubmission> Submissions { get; } = new();

    public TriggerDecision Decision { get; set; } = TriggerDecision.Fired;

    public string Reason { get; set; } = "";

    public RpcException? Throw { get; set; }

    /// <summary>Starts the submission's capture and returns its id (the coordinator's CaptureService in end-to-end tests).</summary>
    public Func<TriggerSubmission, CancellationToken, Task<string>>? Start { get; set; }

    public async Task<TriggerRecord> SubmitAsync(TriggerSubmission submission, CancellationToken cancellationToken)
    {
        Submissions.Enqueue(submission);
        if (Throw is not null)
        {
            throw Throw;
        }

        int n = Interlocked.Increment(ref _count);
        string captureId = Decision == TriggerDecision.Refused ? ""
            : Start is null ? $"fake-{n}"
            : await Start(submission, cancellationToken).ConfigureAwait(false);
        return new TriggerRecord { TriggerId = $"trigger-{n}", Decision = Decision, Reason = Reason, CaptureId = captureId };
    }
}
