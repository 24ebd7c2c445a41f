using System.Reflection;
using System.Runtime.InteropServices;
using Millisampler.Agent.Bpf.Native;
using Millisampler.Contracts.V1;

namespace Millisampler.Agent.Bpf;

/// <summary>Load-time settings of the kernel object.</summary>
public sealed record SamplerLoadOptions
{
    /// <summary>
    /// The most bins the kernel maps are sized for (<see cref="MaxBins"/> at most): the one home of this limit
    /// for the loader, the agent's configuration and the capture command.
    /// </summary>
    public const uint MaxBinsLimit = 1_000_000;

    /// <summary>Largest bins a run may have (1..<see cref="MaxBinsLimit"/>); sizes the per-CPU counter and sketch maps.</summary>
    public uint MaxBins { get; init; } = 2000;

    /// <summary>Flow table entries (retransmission tracking and region class), in each of the IPv4 and IPv6 tables.</summary>
    public uint MaxFlows { get; init; } = 32768;

    /// <summary>Force the CLOCK_MONOTONIC programs even where the kernel reads TAI.</summary>
    public bool ForceMonotonicClock { get; init; }

    /// <summary>Also load the empty baseline program (benchmarks).</summary>
    public bool LoadBaselineProgram { get; init; }

    /// <summary>The in-kernel look-back ring; null: off (the kernel path is then the one without it).</summary>
    public LookbackRingOptions? Lookback { get; init; }

    /// <summary>
    /// Benchmarks only: load this object image instead of the embedded one (an older build of the
    /// program, to compare side by side). Null: the embedded object.
    /// </summary>
    internal byte[]? ObjectImage { get; init; }
}

/// <summary>
/// The look-back ring's shape: bins of <see cref="BinWidthNs"/> on the absolute TAI grid, the
/// newest <see cref="DepthBins"/> of them kept (docs/sampler.md, "Look-back ring").
/// </summary>
public sealed record LookbackRingOptions
{
    public const long DefaultBinWidthNs = 1_000_000;
    public const uint DefaultDepthBins = 4096;

    public long BinWidthNs { get; init; } = DefaultBinWidthNs;

    /// <summary>Slots per CPU: a power of two, 64..65536.</summary>
    public uint DepthBins { get; init; } = DefaultDepthBins;

    /// <summary>Why these values cannot make a ring, or null.</summary>
    public string? Problem() =>
        BinWidthNs is < 10_000 or > 1_000_000_000 ? $"look-back bin width {BinWidthNs} ns is outside 10 µs..1 s"
        : DepthBins is < 64 or > 65536 || !uint.IsPow2(DepthBins) ? $"look-back depth {DepthBins} is not a power of two in 64..65536"
        : null;
}

/// <summary>
/// The loaded kernel object: its programs and maps. The object file is embedded in this assembly
/// at build time, so the agent can never run a stale or missing copy.
/// </summary>
internal sealed unsafe class SamplerObject : IDisposable
{
    internal const string ResourceName = "millisampler.bpf.o";

    private readonly BpfObject _object;
    private nint _sketchMapping;
    private nuint _sketchMappingLength;
    private nint _ringMapping;
    private nuint _ringMappingLength;
    private nint _ringSketchMapping;
    private nuint _ringSketchMappingLength;

    private SamplerObject(BpfObject obj) => _object = obj;

    public ClockSource Clock { get; private set; }
    public int IngressProgramFd { get; private set; }
    public int EgressProgramFd { get; private set; }
    public int BaselineProgramFd { get; private set; } = -1;
    public int ConfigFd { get; private set; }
    public int BinsFd { get; private set; }
    public int SketchFd { get; private set; }
    /// <summary>IPv6 flows (and any flow whose key is not IPv4), keyed by <see cref="MsFlowKey"/>.</summary>
    public int FlowsFd { get; private set; }

    /// <summary>IPv4 flows, keyed by the 16-byte <see cref="MsFlowKey4"/>.</summary>
    public int Flows4Fd { get; private set; } = -1;
    public int PrefixesFd { get; private set; }
    public int StatsFd { get; private set; }
    public uint MaxBins { get; private set; }
    public uint MaxFlows { get; private set; }

    /// <summary>CPUs the kernel may run on: the stride of every per-CPU value.</summary>
    public int PossibleCpus { get; private set; }

    /// <summary>The look-back ring as loaded, or null when it is off.</summary>
    public LookbackRingOptions? Lookback { get; private set; }

    public int RingBinsFd { get; private set; } = -1;
    public int RingSketchFd { get; private set; } = -1;

    /// <summary>The ring's counters, mapped: CPU c's slots at [c × depth, (c + 1) × depth).</summary>
    public MsRingBin* RingBins => (MsRingBin*)_ringMapping;

    /// <summary>The ring's shared sketches, mapped: depth slots.</summary>
    public MsRingSketch* RingSketches => (MsRingSketch*)_ringSketchMapping;

    /// <summary>The sketch map, mapped into this process (max_entries × sizeof(ms_sketch)).</summary>
    public MsSketch* Sketches => (MsSketch*)_sketchMapping;

    /// <summary>Opens the embedded object, picks the clock, sizes the maps and loads it.</summary>
    public static SamplerObject Load(SamplerLoadOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.MaxBins is < 1 or > SamplerLoadOptions.MaxBinsLimit)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"MaxBins must be 1..{SamplerLoadOptions.MaxBinsLimit}.");
        }

        var result = new SamplerObject(BpfObject.Open(options.ObjectImage ?? ReadEmbeddedObject(), ResourceName));
        try
        {
            result.Configure(options);
            result._object.Load();
            result.Resolve(options);
            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }

    internal static byte[] ReadEmbeddedObject()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(ResourceName)
            ?? throw new BpfException($"The eBPF object '{ResourceName}' is not embedded in this build; rebuild the agent (clang is required).");
        var image = new byte[stream.Length];
        stream.ReadExactly(image);
        return image;
    }

    private void Configure(SamplerLoadOptions options)
    {
        bool tai = !options.ForceMonotonicClock &&
            LibBpf.ProbeHelper(LibBpf.ProgTypeSchedCls, LibBpf.HelperKtimeGetTaiNs, 0) == 1;
        Clock = tai ? ClockSource.Tai : ClockSource.MonotonicMapped;
        _object.SetAutoload("ms_ingress", tai);
        _object.SetAutoload("ms_egress", tai);
        _object.SetAutoload("ms_ingress_mono", !tai);
        _object.SetAutoload("ms_egress_mono", !tai);
        _object.SetAutoload("ms_empty", options.LoadBaselineProgram);
        _object.SetMaxEntries("ms_bins", options.MaxBins);
        _object.SetMaxEntries("ms_sketch", options.MaxBins);
        _object.SetMaxEntries("ms_flows", options.MaxFlows);
        if (_object.HasMap("ms_flows4"))
        {
            _object.SetMaxEntries("ms_flows4", options.MaxFlows);
        }

        // The ring reads TAI; on the CLOCK_MONOTONIC programs it stays off.
        var ring = tai ? options.Lookback : null;
        if (ring?.Problem() is { } problem)
        {
            throw new ArgumentException(problem, nameof(options));
        }

        int cpus = LibBpf.NumPossibleCpus();
        if (cpus <= 0)
        {
            throw BpfException.FromErrno("Counting possible CPUs failed", cpus);
        }

        _object.SetSectionValue(".rodata.ring", new MsRingParams
        {
            WidthNs = (ulong)(ring?.BinWidthNs ?? LookbackRingOptions.DefaultBinWidthNs),
            Depth = ring?.DepthBins ?? LookbackRingOptions.DefaultDepthBins,
            On = ring is null ? 0u : 1u,
        });
        _object.SetMaxEntries("ms_ring_bins", ring is null ? 1 : checked(ring.DepthBins * (uint)cpus));
        _object.SetMaxEntries("ms_ring_sketch", ring?.DepthBins ?? 1);
        Lookback = ring;
    }

    private void Resolve(SamplerLoadOptions options)
    {
        bool tai = Clock == ClockSource.Tai;
        IngressProgramFd = _object.ProgramFd(tai ? "ms_ingress" : "ms_ingress_mono");
        EgressProgramFd = _object.ProgramFd(tai ? "ms_egress" : "ms_egress_mono");
        if (options.LoadBaselineProgram)
        {
            BaselineProgramFd = _object.ProgramFd("ms_empty");
        }

        ConfigFd = _object.MapFd("ms_config", sizeof(MsConfig));
        BinsFd = _object.MapFd("ms_bins", sizeof(MsBin));
        SketchFd = _object.MapFd("ms_sketch", sizeof(MsSketch));

        // The agent never reads a flow's value, so another build's object (benchmarks, --compare) may lay it out
        // differently, and may have no IPv4 table at all.
        bool other = options.ObjectImage is not null;
        FlowsFd = other ? _object.MapFd("ms_flows") : _object.MapFd("ms_flows", sizeof(MsFlow));
        Flows4Fd = other && !_object.HasMap("ms_flows4") ? -1 : other ? _object.MapFd("ms_flows4") : _object.MapFd("ms_flows4", sizeof(MsFlow));
        PrefixesFd = _object.MapFd("ms_prefixes", sizeof(MsPrefixValue));
        StatsFd = _object.MapFd("ms_stats", sizeof(MsStats));
        MaxBins = _object.MaxEntries("ms_bins");
        MaxFlows = _object.MaxEntries("ms_flows");
        PossibleCpus = LibBpf.NumPossibleCpus();
        if (PossibleCpus <= 0)
        {
            throw BpfException.FromErrno("Counting possible CPUs failed", PossibleCpus);
        }

        _sketchMappingLength = (nuint)((long)MaxBins * sizeof(MsSketch));
        _sketchMapping = MapShared(SketchFd, _sketchMappingLength, "sketch", Libc.ProtRead | Libc.ProtWrite);

        RingBinsFd = _object.MapFd("ms_ring_bins", sizeof(MsRingBin));
        RingSketchFd = _object.MapFd("ms_ring_sketch", sizeof(MsRingSketch));
        if (Lookback is not null)
        {
            // Read-only: the kernel owns the ring; the agent only reads windows out of it.
            _ringMappingLength = (nuint)((long)_object.MaxEntries("ms_ring_bins") * sizeof(MsRingBin));
            _ringMapping = MapShared(RingBinsFd, _ringMappingLength, "look-back ring", Libc.ProtRead);
            _ringSketchMappingLength = (nuint)((long)_object.MaxEntries("ms_ring_sketch") * sizeof(MsRingSketch));
            _ringSketchMapping = MapShared(RingSketchFd, _ringSketchMappingLength, "look-back sketch", Libc.ProtRead);
        }
    }

    private static nint MapShared(int fd, nuint length, string what, int protection)
    {
        nint mapping = Libc.Mmap(0, length, protection, Libc.MapShared, fd, 0);
        if (mapping == -1)
        {
            throw BpfException.FromErrno($"Mapping the {what} map failed", Marshal.GetLastPInvokeError());
        }

        return mapping;
    }

    public void Dispose()
    {
        if (_sketchMapping != 0)
        {
            Libc.Munmap(_sketchMapping, _sketchMappingLength);
            _sketchMapping = 0;
        }
        if (_ringMapping != 0)
        {
            Libc.Munmap(_ringMapping, _ringMappingLength);
            _ringMapping = 0;
        }
        if (_ringSketchMapping != 0)
        {
            Libc.Munmap(_ringSketchMapping, _ringSketchMappingLength);
            _ringSketchMapping = 0;
        }
        _object.Dispose();
    }
}
