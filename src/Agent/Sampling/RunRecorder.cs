using Millisampler.Agent.Bpf;
using Millisampler.Agent.Clock;
using Millisampler.Common.Text;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;

namespace Millisampler.Agent.Sampling;

/// <summary>
/// Records one run at a time on the kernel sampler: arms it for the start instant, waits until
/// the last bin has passed on the TAI clock, reads and clears the bins. Cancelling cuts the run
/// short; the bins recorded until then are kept and the record says so. The agent's engine: the programs stay
/// attached for its life, each run only arms, reads and resets them; disposing detaches them when it owns the sampler.
/// </summary>
internal sealed class RunRecorder : IRunEngine, IDisposable
{
    /// <summary>Wait after the last bin before reading, so packets in flight on other CPUs have landed.</summary>
    internal static readonly TimeSpan ReadGrace = TimeSpan.FromMilliseconds(2);

    private readonly KernelSampler _sampler;
    private readonly HostClock _clock;
    private readonly HostIdentity _identity;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly bool _ownsSampler;

    /// <summary>Records on a sampler opened elsewhere (tests open it inside a namespace); <paramref name="ownsSampler"/> says whether Dispose closes it.</summary>
    public RunRecorder(KernelSampler sampler, HostClock clock, HostIdentity identity, TimeProvider time, bool ownsSampler = false)
    {
        _sampler = sampler;
        _clock = clock;
        _identity = identity;
        _time = time;
        _ownsSampler = ownsSampler;
    }

    /// <summary>Loads the programs, attaches them to every interface of <paramref name="options"/>, and records on them.</summary>
    public static RunRecorder Open(KernelSamplerOptions options, HostClock clock, HostIdentity identity, TimeProvider time) =>
        new(KernelSampler.Open(options, clock), clock, identity, time, ownsSampler: true);

    public KernelSampler Sampler => _sampler;

    public string AttachMode => _sampler.Mode.Name();

    public ClockSource ClockSource => _sampler.Clock;

    public IReadOnlyList<HookStatus> CheckHooks() => _sampler.CheckHooks();

    public KernelDiagnostics ReadDiagnostics()
    {
        var s = _sampler.ReadStats();
        return new KernelDiagnostics(s.ArmedEarly, s.ArmedLate, s.NotParsed, s.FlowInsertFailures);
    }

    public uint CpuCount => (uint)_sampler.PossibleCpus;

    public uint MaxBins => _sampler.MaxBins;

    public IReadOnlyList<LookbackRing> LookbackRings =>
        _sampler.Lookback is { } ring ? [new LookbackRing { BinWidthNs = ring.BinWidthNs, DepthBins = ring.DepthBins }] : [];

    public void ReadRingBins(long firstBin, Span<RingBin> into) => _sampler.ReadRingBins(firstBin, into);

    public Run ReadWindow(RunRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var ring = _sampler.Lookback ?? throw new WindowUnavailableException("the look-back recorder is off on this host (Agent:Lookback:Enabled)");
        if (request.BinWidthNs != ring.BinWidthNs)
        {
            throw new WindowUnavailableException($"no look-back ring of width {DurationText.Format(request.BinWidthNs)} here; this host keeps {ring.DepthBins} bins of {DurationText.Format(ring.BinWidthNs)}");
        }

        var clockAtRead = _clock.ReadState(_sampler.Clock);
        long readStarted = _time.GetTimestamp();
        RunSeriesReadout readout;
        try
        {
            readout = _sampler.ReadRing(request.StartTaiNs / request.BinWidthNs, request.Bins);
        }
        catch (LookbackWindowException e)
        {
            throw new WindowUnavailableException(e.Message);
        }

        Agent.Observability.ReadoutDuration.Record(_time.GetElapsedTime(readStarted).TotalSeconds);
        return Build(request, clockAtRead, readout, request.Bins, RunStatus.Complete, "");
    }

    /// <summary>Records the run; <paramref name="armed"/> is called once the kernel is armed.</summary>
    public async Task<Run> RecordAsync(RunRequest request, CancellationToken cancellationToken, Action? armed = null)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // The maps start zeroed and every run clears what it may have written before it returns,
            // so arming needs no clearing: ScheduleRun-to-armed stays a couple of map writes.
            var clockAtArm = _clock.ReadState(_sampler.Clock);
            _sampler.Arm(request.StartTaiNs, request.BinWidthNs, request.Bins);
            armed?.Invoke();
            string detail = string.Empty;
            var status = RunStatus.Complete;
            try
            {
                long waitNs = request.EndTaiNs - _clock.NowTaiNs();
                if (waitNs > 0)
                {
                    await Task.Delay(TimeNs.ToTimeSpan(waitNs) + ReadGrace, _time, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await Task.Delay(ReadGrace, _time, CancellationToken.None).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                status = RunStatus.CutShort;
                detail = "stopped before its last bin";
            }
            _sampler.Disarm();
            if (status == RunStatus.CutShort)
            {
                // A packet that saw the run armed just before may still be adding to its bin on another CPU.
                await Task.Delay(ReadGrace, _time, CancellationToken.None).ConfigureAwait(false);
            }

            uint recorded = request.Bins;
            uint dirty = request.Bins;
            if (status == RunStatus.CutShort)
            {
                // Whole bins are kept; the bin in progress when the run stopped is partial, so it is
                // not reported, but it may hold counts and is cleared with the rest.
                long elapsed = _clock.NowTaiNs() - request.StartTaiNs;
                recorded = elapsed <= 0 ? 0 : (uint)Math.Min(request.Bins, elapsed / request.BinWidthNs);
                dirty = elapsed <= 0 ? 0 : Math.Min(request.Bins, recorded + 1);
            }
            long readStarted = _time.GetTimestamp();
            var readout = _sampler.Read(recorded);
            _sampler.Reset(dirty);
            Agent.Observability.ReadoutDuration.Record(_time.GetElapsedTime(readStarted).TotalSeconds);
            return Build(request, clockAtArm, readout, recorded, status, detail);
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose()
    {
        if (_ownsSampler)
        {
            _sampler.Dispose();
        }
    }

    private Run Build(RunRequest request, ClockState clockAtArm, RunSeriesReadout readout, uint recorded, RunStatus status, string detail)
    {
        var run = request.NewRecord(_identity);
        run.BinsRecorded = recorded;
        run.ClockAtArm = clockAtArm;
        run.Status = status;
        run.StatusDetail = detail;
        run.Series = readout.Series;
        run.CpuCount = (uint)_sampler.PossibleCpus;
        run.SketchBits = (uint)readout.SketchBits;
        run.SaturatedSketchBins = (uint)readout.SaturatedSketchBins;
        run.AttachMode = AttachMode;
        run.RecordedAtUnixNs = _time.UnixNowNs();
        run.CrossRegionRttThresholdUs = _sampler.RttThresholdUs;
        return run;
    }
}
