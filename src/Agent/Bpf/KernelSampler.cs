using System.Net;
using System.Net.Sockets;
using Millisampler.Agent.Bpf.Native;
using Millisampler.Agent.Clock;
using Millisampler.Agent.Sampling;
using Millisampler.Contracts.V1;

namespace Millisampler.Agent.Bpf;

/// <summary>
/// The loaded programs attached to the watched interfaces, and the operations a run needs: arm
/// at an instant, read the bins, reset them. Not thread-safe: one run owner drives it.
/// Disposing detaches everything it attached.
/// </summary>
internal sealed unsafe class KernelSampler : IDisposable
{
    private readonly SamplerObject _object;
    private readonly List<HookAttachment> _attachments = [];
    private readonly HostClock _clock;
    private readonly uint _rttThresholdUs;
    private uint _prefixGeneration;
    private readonly bool _ownsObject = true;

    private KernelSampler(SamplerObject obj, HostClock clock, uint rttThresholdUs, bool ownsObject = true)
    {
        _object = obj;
        _clock = clock;
        _rttThresholdUs = rttThresholdUs;
        _ownsObject = ownsObject;
    }

    /// <summary>A sampler over a loaded object that attaches nothing and leaves the object open on dispose (tests, benchmarks).</summary>
    internal static KernelSampler ForObject(SamplerObject obj, HostClock clock) => new(obj, clock, 10_000, ownsObject: false);

    public ClockSource Clock => _object.Clock;
    public AttachMode Mode => _attachments.Count > 0 ? _attachments[0].Mode : AttachMode.Auto;
    public int PossibleCpus => _object.PossibleCpus;
    public uint MaxBins => _object.MaxBins;
    public uint RttThresholdUs => _rttThresholdUs;
    public IReadOnlyList<string> Interfaces => _attachments.Where(a => a.Direction == HookDirection.Ingress).Select(a => a.InterfaceName).ToList();

    /// <summary>Loads the programs and attaches them to every interface, both directions.</summary>
    public static KernelSampler Open(KernelSamplerOptions options, HostClock clock)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Interfaces.Count == 0)
        {
            throw new BpfException("No interface to watch: name at least one.");
        }

        var dupes = options.Interfaces.GroupBy(i => i).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        if (dupes.Count > 0)
        {
            throw new BpfException($"Interface listed twice: {string.Join(", ", dupes)} (it would be counted twice).");
        }

        foreach (var name in options.Interfaces)
        {
            HookAttachment.ResolveIfIndex(name);
        }

        var obj = SamplerObject.Load(options.Load);
        var sampler = new KernelSampler(obj, clock, options.CrossRegionRttThresholdUs);
        try
        {
            sampler.Disarm();
            sampler.SetRegionPrefixes(options.RegionPrefixes);
            var mode = options.AttachMode;
            foreach (var name in options.Interfaces)
            {
                foreach (var direction in new[] { HookDirection.Ingress, HookDirection.Egress })
                {
                    int fd = direction == HookDirection.Ingress ? obj.IngressProgramFd : obj.EgressProgramFd;
                    var attachment = HookAttachment.Attach(name, fd, direction, mode, options.ClsactPriority);
                    sampler._attachments.Add(attachment);
                    mode = attachment.Mode; // every hook uses the mechanism the first one got
                }
            }
            return sampler;
        }
        catch
        {
            sampler.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Arms a run: from <paramref name="startTaiNs"/> on, packets land in bins of
    /// <paramref name="binWidthNs"/>; after <paramref name="bins"/> bins they are not counted.
    /// The kernel places packets by its own clock, so when userspace wakes does not matter.
    /// </summary>
    public void Arm(long startTaiNs, long binWidthNs, uint bins)
    {
        if (binWidthNs <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(binWidthNs), "Bin width must be positive.");
        }

        if (bins == 0 || bins > MaxBins)
        {
            throw new ArgumentOutOfRangeException(nameof(bins), $"Bins must be 1..{MaxBins}.");
        }

        long start = Clock == ClockSource.Tai ? startTaiNs : startTaiNs - _clock.TaiMinusMonotonicNs();
        if (start <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(startTaiNs), "Start instant lies before the clock's origin.");
        }

        // Written in two steps so that a packet never sees a half-written config while armed.
        WriteConfig(new MsConfig { StartNs = (ulong)start, BinWidthNs = (ulong)binWidthNs, Bins = bins, Armed = 0, RttThresholdUs = _rttThresholdUs, PrefixGeneration = _prefixGeneration });
        WriteConfig(new MsConfig { StartNs = (ulong)start, BinWidthNs = (ulong)binWidthNs, Bins = bins, Armed = 1, RttThresholdUs = _rttThresholdUs, PrefixGeneration = _prefixGeneration });
    }

    /// <summary>Stops counting at once; a disarmed program costs one array lookup per packet.</summary>
    public void Disarm() =>
        WriteConfig(new MsConfig { Armed = 0, RttThresholdUs = _rttThresholdUs, PrefixGeneration = _prefixGeneration });

    private void WriteConfig(MsConfig config)
    {
        uint key = 0;
        int err = LibBpf.MapUpdateElem(_object.ConfigFd, &key, &config, LibBpf.UpdateAny);
        if (err != 0)
        {
            throw BpfException.FromErrno("Writing the sampler configuration failed", err);
        }
    }

    /// <summary>Replaces the region prefix list and makes every flow re-decide its class.</summary>
    public void SetRegionPrefixes(IReadOnlyList<RegionPrefix> prefixes)
    {
        var keys = new List<MsPrefixKey>();
        MsPrefixKey cursor;
        MsPrefixKey next;
        MsPrefixKey* prev = null;
        while (LibBpf.MapGetNextKey(_object.PrefixesFd, prev, &next) == 0)
        {
            keys.Add(next);
            cursor = next;
            prev = &cursor;
        }
        foreach (var k in keys)
        {
            var copy = k;
            LibBpf.MapDeleteElem(_object.PrefixesFd, &copy);
        }
        foreach (var p in prefixes)
        {
            var key = ToKey(p);
            var value = new MsPrefixValue { Region = p.CrossRegion ? MsRegion.Remote : MsRegion.Local };
            int err = LibBpf.MapUpdateElem(_object.PrefixesFd, &key, &value, LibBpf.UpdateAny);
            if (err != 0)
            {
                throw BpfException.FromErrno($"Adding region prefix {p.Network}/{p.PrefixLength} failed", err);
            }
        }
        _prefixGeneration++;
        uint zero = 0;
        MsConfig current;
        if (LibBpf.MapLookupElem(_object.ConfigFd, &zero, &current) == 0)
        {
            current.PrefixGeneration = _prefixGeneration;
            WriteConfig(current);
        }
    }

    internal static MsPrefixKey ToKey(RegionPrefix p)
    {
        var key = new MsPrefixKey();
        Span<byte> addr = new(key.Address, 16);
        if (p.Network.AddressFamily == AddressFamily.InterNetwork)
        {
            addr[10] = 0xff;
            addr[11] = 0xff;
            p.Network.TryWriteBytes(addr[12..], out _);
            key.PrefixLength = (uint)(96 + p.PrefixLength);
        }
        else
        {
            p.Network.TryWriteBytes(addr, out _);
            key.PrefixLength = (uint)p.PrefixLength;
        }
        return key;
    }

    /// <summary>Reads bins [0, <paramref name="bins"/>): counters summed over CPUs and the sketch estimates.</summary>
    public RunSeriesReadout Read(uint bins)
    {
        if (bins > MaxBins)
        {
            throw new ArgumentOutOfRangeException(nameof(bins));
        }

        int cpus = PossibleCpus;
        var perCpu = new MsBin[cpus];
        var readout = new RunSeriesReadout((int)bins, MsSketch.Words);
        fixed (MsBin* values = perCpu)
        {
            for (uint bin = 0; bin < bins; bin++)
            {
                uint key = bin;
                int err = LibBpf.MapLookupElem(_object.BinsFd, &key, values);
                if (err != 0)
                {
                    throw BpfException.FromErrno($"Reading bin {bin} failed", err);
                }

                readout.AddBin((int)bin, perCpu);
                MsSketch* sketch = _object.Sketches + bin;
                readout.AddSketch((int)bin, new ReadOnlySpan<ulong>(sketch->In, MsSketch.Words), new ReadOnlySpan<ulong>(sketch->Out, MsSketch.Words));
            }
        }
        return readout;
    }

    /// <summary>Zeroes bins [0, <paramref name="bins"/>) for the next run.</summary>
    public void Reset(uint bins)
    {
        var zero = new MsBin[PossibleCpus];
        fixed (MsBin* values = zero)
        {
            for (uint bin = 0; bin < Math.Min(bins, MaxBins); bin++)
            {
                uint key = bin;
                int err = LibBpf.MapUpdateElem(_object.BinsFd, &key, values, LibBpf.UpdateAny);
                if (err != 0)
                {
                    throw BpfException.FromErrno($"Clearing bin {bin} failed", err);
                }
            }
        }
        new Span<byte>(_object.Sketches, (int)(Math.Min(bins, MaxBins) * (uint)sizeof(MsSketch))).Clear();
    }

    /// <summary>Every hook the programs were attached to, and whether they still are (asks the kernel).</summary>
    public IReadOnlyList<Sampling.HookStatus> CheckHooks() =>
        [.. _attachments.Select(a => new Sampling.HookStatus(a.InterfaceName, a.Direction == HookDirection.Ingress ? "ingress" : "egress",
            a.Mode == AttachMode.Tcx ? "tcx" : "clsact", a.IsAttached(out string detail), detail))];

    /// <summary>The look-back ring as loaded, or null when it is off.</summary>
    public LookbackRingOptions? Lookback => _object.Lookback;

    /// <summary>
    /// Reads absolute bins [<paramref name="firstBin"/>, + <paramref name="bins"/>) out of the
    /// look-back ring. A CPU slot counts only when it holds exactly that bin (checked before and
    /// after copying it, since the kernel may recycle it meanwhile): a CPU that saw nothing in a
    /// bin contributes zero, never stale counts. Throws <see cref="LookbackWindowException"/>
    /// when the window is not wholly past or no longer wholly held.
    /// </summary>
    public RunSeriesReadout ReadRing(long firstBin, uint bins)
    {
        var ring = Lookback ?? throw new LookbackWindowException("The look-back recorder is off on this host.");
        long width = ring.BinWidthNs;
        LookbackWindow.Check(ring, firstBin, bins, _clock.NowTaiNs() / width);

        int cpus = PossibleCpus;
        uint depth = ring.DepthBins;
        uint mask = depth - 1;
        var readout = new RunSeriesReadout((int)bins, MsSketch.Words);
        var perCpu = new MsBin[cpus];
        var ingress = new ulong[MsSketch.Words];
        var egress = new ulong[MsSketch.Words];
        MsRingBin* slots = _object.RingBins;
        MsRingSketch* sketches = _object.RingSketches;
        for (uint i = 0; i < bins; i++)
        {
            ulong bin = (ulong)(firstBin + i);
            uint slot = (uint)bin & mask;
            for (int cpu = 0; cpu < cpus; cpu++)
            {
                MsRingBin* e = slots + ((long)cpu * depth) + slot;
                ulong before = Volatile.Read(ref e->Bin);
                MsRingBin copy = *e;
                Interlocked.MemoryBarrier();
                ulong after = Volatile.Read(ref e->Bin);
                perCpu[cpu] = before == bin && after == bin ? Widen(copy) : default;
            }
            readout.AddBin((int)i, perCpu);

            MsRingSketch* s = sketches + slot;
            ulong tag = Volatile.Read(ref s->Bin);
            new ReadOnlySpan<ulong>(s->In, MsSketch.Words).CopyTo(ingress);
            new ReadOnlySpan<ulong>(s->Out, MsSketch.Words).CopyTo(egress);
            Interlocked.MemoryBarrier();
            if (tag == bin && Volatile.Read(ref s->Bin) == bin)
            {
                readout.AddSketch((int)i, ingress, egress);
            }
        }

        // The ring moved on while we read: the oldest bins may have been recycled under us.
        long nowBin = _clock.NowTaiNs() / width;
        if (firstBin <= nowBin - depth + LookbackWindow.GuardBins)
        {
            throw new LookbackWindowException($"Bin {firstBin} was overwritten while the window was read; ask for a later window (the oldest held is now {nowBin - depth + LookbackWindow.GuardBins + 1}).");
        }

        return readout;
    }

    /// <summary>
    /// The ring's counters for bins [<paramref name="firstBin"/>, + into.Length), summed over CPUs, no sketches and no
    /// window check: the trigger watcher's cheap read of the newest bins. A slot whose tag is not the bin counts zero.
    /// </summary>
    public void ReadRingBins(long firstBin, Span<RingBin> into)
    {
        var ring = Lookback ?? throw new LookbackWindowException("The look-back recorder is off on this host.");
        if (into.Length > ring.DepthBins)
        {
            throw new ArgumentOutOfRangeException(nameof(into), $"At most {ring.DepthBins} bins at once.");
        }

        int cpus = PossibleCpus;
        uint depth = ring.DepthBins;
        uint mask = depth - 1;
        MsRingBin* slots = _object.RingBins;
        for (int i = 0; i < into.Length; i++)
        {
            ulong bin = (ulong)(firstBin + i);
            uint slot = (uint)bin & mask;
            ulong inBytes = 0, outBytes = 0, ce = 0, inRetx = 0, outRetx = 0;
            for (int cpu = 0; cpu < cpus; cpu++)
            {
                MsRingBin* e = slots + ((long)cpu * depth) + slot;
                ulong before = Volatile.Read(ref e->Bin);
                MsRingBin copy = *e;
                Interlocked.MemoryBarrier();
                if (before == bin && Volatile.Read(ref e->Bin) == bin)
                {
                    inBytes += copy.InBytes;
                    outBytes += copy.OutBytes;
                    ce += copy.InCeBytes;
                    inRetx += copy.InRetransmitBytes;
                    outRetx += copy.OutRetransmitBytes;
                }
            }
            into[i] = new RingBin((long)bin, inBytes, outBytes, ce, inRetx, outRetx);
        }
    }

    private static MsBin Widen(in MsRingBin r) => new()
    {
        InBytes = r.InBytes,
        OutBytes = r.OutBytes,
        InPackets = r.InPackets,
        OutPackets = r.OutPackets,
        InCeBytes = r.InCeBytes,
        InRetransmitBytes = r.InRetransmitBytes,
        OutRetransmitBytes = r.OutRetransmitBytes,
        InCrossRegionBytes = r.InCrossRegionBytes,
        OutCrossRegionBytes = r.OutCrossRegionBytes,
    };

    /// <summary>Diagnostics summed over CPUs.</summary>
    public MsStats ReadStats()
    {
        var perCpu = new MsStats[PossibleCpus];
        uint key = 0;
        fixed (MsStats* values = perCpu)
        {
            if (LibBpf.MapLookupElem(_object.StatsFd, &key, values) != 0)
            {
                return default;
            }
        }
        var sum = new MsStats();
        foreach (var s in perCpu)
        {
            sum.ArmedEarly += s.ArmedEarly;
            sum.ArmedLate += s.ArmedLate;
            sum.NotParsed += s.NotParsed;
            sum.FlowInsertFailures += s.FlowInsertFailures;
        }
        return sum;
    }

    /// <summary>The loaded object: its program and map descriptors (for tests and benchmarks).</summary>
    internal SamplerObject Object => _object;

    public void Dispose()
    {
        try
        {
            Disarm();
        }
        catch (BpfException)
        {
            // Closing the object below removes the programs anyway.
        }
        foreach (var a in _attachments)
        {
            a.Dispose();
        }

        _attachments.Clear();
        if (_ownsObject)
        {
            _object.Dispose();
        }
    }
}
