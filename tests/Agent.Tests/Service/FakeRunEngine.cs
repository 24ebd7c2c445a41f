using System.Collections.Concurrent;
using Microsoft.Extensions.Time.Testing;
using Millisampler.Agent.Bpf;
using Millisampler.Agent.Clock;
using Millisampler.Agent.Sampling;
using Millisampler.Agent.Schedule;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;

namespace Millisampler.Agent.Tests.Service;

/// <summary>TAI derived from a <see cref="FakeTimeProvider"/>: it moves only when the test advances the fake time.</summary>
internal sealed class FakeHostClock(FakeTimeProvider time) : HostClock
{
    /// <summary>TAI − UTC in 2025, ns.</summary>
    private const long TaiOffsetNs = 37_000_000_000;

    public bool Synchronized { get; set; } = true;

    public override long NowTaiNs() => time.UnixNowNs() + TaiOffsetNs;

    public override long TaiMinusMonotonicNs() => 0;

    public override ClockState ReadState(ClockSource source) =>
        new() { Synchronized = Synchronized, EstimatedErrorNs = 5_000, MaxErrorNs = 20_000, TaiOffsetSeconds = 37, Source = source };
}

/// <summary>
/// A fake run engine: no kernel, runs on the fake clock. It "arms" at once, waits on the fake time until the last
/// bin has passed, and returns a synthetic run with every metric filled; cancelled, it cuts the run short like the real one.
/// </summary>
internal sealed class FakeRunEngine(FakeHostClock clock, FakeTimeProvider time, HostIdentity identity) : IRunEngine
{
    private readonly ConcurrentQueue<(RunRequest Request, long ArmedAtTaiNs)> _arms = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _armed = new();
    private int _active;

    public string AttachMode => "tcx";
    public ClockSource ClockSource => ClockSource.Tai;
    public uint CpuCount => 2;
    public uint MaxBins { get; init; } = 2000;

    /// <summary>Set to false to act as if another tool removed the program from the hook.</summary>
    public bool Attached { get; set; } = true;

    public IReadOnlyList<HookStatus> CheckHooks() =>
    [
        new("eth0", "ingress", "tcx", Attached, Attached ? "" : "program 1 is no longer on tcx ingress of eth0"),
        new("eth0", "egress", "tcx", Attached, Attached ? "" : "program 2 is no longer on tcx egress of eth0"),
    ];

    public KernelDiagnostics ReadDiagnostics() => new(1, 2, 3, 0);

    /// <summary>The ring this fake "keeps": 1 ms × 4096 like the default; null acts as a recorder switched off.</summary>
    public LookbackRingOptions? Ring { get; set; } = new();

    /// <summary>Windows read so far.</summary>
    public int WindowReads => _windowReads;

    private int _windowReads;

    public IReadOnlyList<LookbackRing> LookbackRings => Ring is { } r ? [new LookbackRing { BinWidthNs = r.BinWidthNs, DepthBins = r.DepthBins }] : [];

    /// <summary>
    /// No kernel memory: the window rule is the real one (<see cref="LookbackWindow.Check"/> on the fake clock), the
    /// series synthetic, bin i's ingress packets equal to its absolute bin number mod 1000 (so tests see which bins came back).
    /// </summary>
    public Run ReadWindow(RunRequest request)
    {
        var ring = Ring ?? throw new WindowUnavailableException("the look-back recorder is off on this host (Agent:Lookback:Enabled)");
        if (request.BinWidthNs != ring.BinWidthNs)
        {
            throw new WindowUnavailableException($"no look-back ring of width {request.BinWidthNs} ns here");
        }

        long first = request.StartTaiNs / request.BinWidthNs;
        try
        {
            LookbackWindow.Check(ring, first, request.Bins, clock.NowTaiNs() / ring.BinWidthNs);
        }
        catch (LookbackWindowException e)
        {
            throw new WindowUnavailableException(e.Message);
        }

        Interlocked.Increment(ref _windowReads);
        var run = Synthetic(request, identity, request.Bins, RunStatus.Complete, clock.ReadState(ClockSource));
        for (int i = 0; i < request.Bins; i++)
        {
            run.Series.IngressPackets[i] = (ulong)((first + i) % 1000);
        }
        return run;
    }

    /// <summary>Runs armed so far, in order, with the fake TAI instant of arming.</summary>
    public IReadOnlyList<(RunRequest Request, long ArmedAtTaiNs)> Arms => [.. _arms];

    /// <summary>Most runs armed at once; the coordinator must keep this at 1.</summary>
    public int MaxConcurrent { get; private set; }

    /// <summary>Completes once run <paramref name="runId"/> is armed.</summary>
    public Task WaitArmedAsync(string runId) => _armed.GetOrAdd(runId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).Task.WaitAsync(TimeSpan.FromSeconds(10));

    public async Task<Run> RecordAsync(RunRequest request, CancellationToken cancellationToken, Action? armed = null)
    {
        cancellationToken.ThrowIfCancellationRequested();
        int active = Interlocked.Increment(ref _active);
        MaxConcurrent = Math.Max(MaxConcurrent, active);
        try
        {
            _arms.Enqueue((request, clock.NowTaiNs()));
            armed?.Invoke();
            _armed.GetOrAdd(request.RunId, _ => new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            var status = RunStatus.Complete;
            try
            {
                long waitNs = request.EndTaiNs - clock.NowTaiNs();
                if (waitNs > 0)
                {
                    await Task.Delay(TimeSpan.FromTicks(waitNs / 100), time, cancellationToken);
                }
            }
            catch (OperationCanceledException)
            {
                status = RunStatus.CutShort;
            }
            uint recorded = request.Bins;
            if (status == RunStatus.CutShort)
            {
                long elapsed = clock.NowTaiNs() - request.StartTaiNs;
                recorded = elapsed <= 0 ? 0 : (uint)Math.Min(request.Bins, elapsed / request.BinWidthNs);
            }
            return Synthetic(request, identity, recorded, status, clock.ReadState(ClockSource));
        }
        finally
        {
            Interlocked.Decrement(ref _active);
        }
    }

    /// <summary>A run whose every series holds <paramref name="recorded"/> values of realistic size.</summary>
    public static Run Synthetic(RunRequest request, HostIdentity identity, uint recorded, RunStatus status, ClockState clock)
    {
        var series = new RunSeries();
        var random = new Random((int)(request.StartTaiNs % int.MaxValue));
        // A 12.5 Gbit/s link carries up to ~1.56 MB per 1 ms bin: 3-byte varints, like a busy host.
        ulong perBin = (ulong)Math.Max(1, 12.5e9 / 8 * request.BinWidthNs / 1e9);
        for (int i = 0; i < recorded; i++)
        {
            ulong bytes = (ulong)random.NextInt64((long)perBin);
            series.IngressBytes.Add(bytes);
            series.EgressBytes.Add(bytes / 3);
            series.IngressPackets.Add(bytes / 1500);
            series.EgressPackets.Add(bytes / 4500);
            series.IngressCeBytes.Add(bytes / 50);
            series.IngressRetransmitBytes.Add(bytes / 200);
            series.EgressRetransmitBytes.Add(bytes / 300);
            series.IngressCrossRegionBytes.Add(bytes / 10);
            series.EgressCrossRegionBytes.Add(bytes / 30);
            series.Connections.Add((uint)random.Next(500));
            series.IngressConnections.Add((uint)random.Next(300));
            series.EgressConnections.Add((uint)random.Next(300));
        }
        var run = new Run
        {
            RunId = request.RunId,
            Host = identity.Host,
            Rack = identity.Rack,
            Origin = request.Origin,
            StartTaiNs = request.StartTaiNs,
            BinWidthNs = request.BinWidthNs,
            Bins = request.Bins,
            BinsRecorded = recorded,
            ClockAtArm = clock,
            Status = status,
            StatusDetail = status == RunStatus.CutShort ? "stopped before its last bin" : "",
            Series = series,
            CpuCount = 2,
            SketchBits = 128,
            AttachMode = "tcx",
            RecordedAtUnixNs = 1,
            CrossRegionRttThresholdUs = 10_000,
        };
        run.Interfaces.AddRange(identity.Interfaces);
        return run;
    }
}
