using Millisampler.Agent.Bpf;
using Millisampler.Agent.Clock;
using Millisampler.Agent.Sampling;
using Millisampler.Contracts.V1;

namespace Millisampler.Agent.Schedule;

/// <summary>
/// The real engine: the eBPF programs stay attached for the agent's life; each run only arms, reads and
/// resets them (<see cref="RunRecorder"/>). Disposing detaches everything.
/// </summary>
internal sealed class KernelRunEngine : IRunEngine, IDisposable
{
    private readonly KernelSampler _sampler;
    private readonly RunRecorder _recorder;
    private readonly bool _ownsSampler;

    /// <summary>Wraps a sampler opened elsewhere (tests open it inside a namespace); <paramref name="ownsSampler"/> says whether Dispose closes it.</summary>
    public KernelRunEngine(KernelSampler sampler, HostClock clock, HostIdentity identity, TimeProvider time, bool ownsSampler)
    {
        _sampler = sampler;
        _recorder = new RunRecorder(sampler, clock, identity, time);
        _ownsSampler = ownsSampler;
    }

    /// <summary>Loads the programs and attaches them to every interface of <paramref name="options"/>.</summary>
    public static KernelRunEngine Open(KernelSamplerOptions options, HostClock clock, HostIdentity identity, TimeProvider time) =>
        new(KernelSampler.Open(options, clock), clock, identity, time, ownsSampler: true);

    public string AttachMode => _sampler.Mode.Name();

    public ClockSource ClockSource => _sampler.Clock;

    public uint CpuCount => (uint)_sampler.PossibleCpus;

    public uint MaxBins => _sampler.MaxBins;

    public Task<Run> RecordAsync(RunRequest request, CancellationToken cancellationToken, Action? armed = null) =>
        _recorder.RecordAsync(request, cancellationToken, armed);

    public void Dispose()
    {
        if (_ownsSampler)
        {
            _sampler.Dispose();
        }
    }
}
