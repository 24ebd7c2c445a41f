using Millisampler.Contracts.V1;

namespace Millisampler.Agent.Sampling;

/// <summary>
/// What records runs: <see cref="RunRecorder"/> on the kernel sampler in the agent, a fake on a fake clock in
/// tests. One run at a time; the caller (the schedule's run arbiter) guarantees that.
/// </summary>
public interface IRunEngine
{
    /// <summary>"tcx" or "clsact".</summary>
    string AttachMode { get; }

    /// <summary>Which clock the kernel program bins by.</summary>
    ClockSource ClockSource { get; }

    /// <summary>CPUs whose per-CPU counters are summed.</summary>
    uint CpuCount { get; }

    /// <summary>Largest bin count the loaded program holds.</summary>
    uint MaxBins { get; }

    /// <summary>
    /// Arms for <paramref name="request"/>'s start instant, waits until its last bin has passed, reads and clears
    /// the bins. <paramref name="armed"/> is called once the kernel is armed. Cancelling cuts the run short
    /// (status CUT_SHORT, the bins until then kept); cancelled before arming, it throws <see cref="OperationCanceledException"/>.
    /// </summary>
    Task<Run> RecordAsync(RunRequest request, CancellationToken cancellationToken, Action? armed = null);
}
