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

    /// <summary>Every hook (interface and direction) the program should sit on, and whether the kernel says it still does.</summary>
    IReadOnlyList<HookStatus> CheckHooks();

    /// <summary>The kernel program's diagnostics counters, summed over CPUs, since it was loaded.</summary>
    KernelDiagnostics ReadDiagnostics();

    /// <summary>The look-back rings the kernel keeps; empty when the recorder is off (the default for engines without one).</summary>
    IReadOnlyList<LookbackRing> LookbackRings => [];

    /// <summary>
    /// Reads the absolute bins [StartTaiNs / BinWidthNs, + Bins) of <paramref name="request"/> out of the look-back ring of
    /// that width, summed over CPUs, as a complete run. Reads memory only; safe beside a recording run. Throws
    /// <see cref="WindowUnavailableException"/> when the window cannot be read here, <see cref="ArgumentOutOfRangeException"/>
    /// for a window no ring could hold (too many bins).
    /// </summary>
    Run ReadWindow(RunRequest request) => throw new WindowUnavailableException("the look-back recorder is off on this host");

    /// <summary>
    /// Fills <paramref name="into"/> with the ring's bins from <paramref name="firstBin"/> on, counters only (no sketches),
    /// straight from the mapped memory: no syscall. A CPU slot holding another bin (not written yet in that bin, or
    /// recycled meanwhile) counts as zero. The caller keeps to wholly past bins within the ring's depth.
    /// </summary>
    void ReadRingBins(long firstBin, Span<RingBin> into) => throw new WindowUnavailableException("the look-back recorder is off on this host");
}

/// <summary>One hook of the program: <paramref name="Direction"/> "ingress" or "egress", <paramref name="AttachMode"/> "tcx" or "clsact"; <paramref name="Detail"/> says why it is not attached.</summary>
public sealed record HookStatus(string Interface, string Direction, string AttachMode, bool Attached, string Detail);

/// <summary>
/// The kernel program's diagnostics, packets since load: seen while armed but before bin 0 (<paramref name="ArmedEarly"/>)
/// or after the last bin (<paramref name="ArmedLate"/>), not parsed (<paramref name="NotParsed"/>), and flows the flow
/// table could not take (<paramref name="FlowInsertFailures"/>).
/// </summary>
public readonly record struct KernelDiagnostics(ulong ArmedEarly, ulong ArmedLate, ulong NotParsed, ulong FlowInsertFailures);
