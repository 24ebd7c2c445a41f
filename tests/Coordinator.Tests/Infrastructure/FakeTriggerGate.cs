using System.Collections.Concurrent;
using Grpc.Core;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Triggers;

namespace Millisampler.Coordinator.Tests.Infrastructure;

/// <summary>
/// An <see cref="ITriggerGate"/> that records every submission and answers <see cref="Decision"/> with a made-up
/// capture id (<c>fake-1</c>, ...), or throws <see cref="Throw"/>. For tests of what submits, not of the gate's policy.
/// </summary>
internal sealed class FakeTriggerGate : ITriggerGate
{
    private int _count;

    public ConcurrentQueue<TriggerSubmission> Submissions { get; } = new();

    public TriggerDecision Decision { get; set; } = TriggerDecision.Fired;

    public string Reason { get; set; } = "";

    public RpcException? Throw { get; set; }

    public Task<TriggerRecord> SubmitAsync(TriggerSubmission submission, CancellationToken cancellationToken)
    {
        Submissions.Enqueue(submission);
        if (Throw is not null)
        {
            throw Throw;
        }

        int n = Interlocked.Increment(ref _count);
        return Task.FromResult(new TriggerRecord
        {
            TriggerId = $"trigger-{n}",
            Decision = Decision,
            Reason = Reason,
            CaptureId = Decision == TriggerDecision.Refused ? "" : $"fake-{n}",
        });
    }
}
