using System.Reflection;
using System.Runtime.InteropServices;
using Millisampler.Agent.Bpf.Native;
using Millisampler.Contracts.V1;

namespace Millisampler.Agent.Bpf;

/// <summary>Load-time settings of the kernel object.</summary>
public sealed record SamplerLoadOptions
{
    /// <summary>Largest bins a run may have; sizes the per-CPU counter and sketch maps.</summary>
    public uint MaxBins { get; init; } = 2000;

    /// <summary>Flow table entries (retransmission tracking and region class).</summary>
    public uint MaxFlows { get; init; } = 32768;

    /// <summary>Force the CLOCK_MONOTONIC programs even where the kernel reads TAI.</summary>
    public bool ForceMonotonicClock { get; init; }

    /// <summary>Also load the empty baseline program (benchmarks).</summary>
    public bool LoadBaselineProgram { get; init; }
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

    private SamplerObject(BpfObject obj) => _object = obj;

    public ClockSource Clock { get; private set; }
    public int IngressProgramFd { get; private set; }
    public int EgressProgramFd { get; private set; }
    public int BaselineProgramFd { get; private set; } = -1;
    public int ConfigFd { get; private set; }
    public int BinsFd { get; private set; }
    public int SketchFd { get; private set; }
    public int FlowsFd { get; private set; }
    public int PrefixesFd { get; private set; }
    public int StatsFd { get; private set; }
    public uint MaxBins { get; private set; }
    public uint MaxFlows { get; private set; }

    /// <summary>CPUs the kernel may run on: the stride of every per-CPU value.</summary>
    public int PossibleCpus { get; private set; }

    /// <summary>The sketch map, mapped into this process (max_entries × sizeof(ms_sketch)).</summary>
    public MsSketch* Sketches => (MsSketch*)_sketchMapping;

    /// <summary>Opens the embedded object, picks the clock, sizes the maps and loads it.</summary>
    public static SamplerObject Load(SamplerLoadOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.MaxBins is < 1 or > 1_000_000)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "MaxBins must be 1..1000000.");
        }

        var result = new SamplerObject(BpfObject.Open(ReadEmbeddedObject(), ResourceName));
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
        FlowsFd = _object.MapFd("ms_flows", sizeof(MsFlow));
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
        _sketchMapping = Libc.Mmap(0, _sketchMappingLength, Libc.ProtRead | Libc.ProtWrite, Libc.MapShared, SketchFd, 0);
        if (_sketchMapping == -1)
        {
            _sketchMapping = 0;
            throw BpfException.FromErrno("Mapping the sketch map failed", Marshal.GetLastPInvokeError());
        }
    }

    public void Dispose()
    {
        if (_sketchMapping != 0)
        {
            Libc.Munmap(_sketchMapping, _sketchMappingLength);
            _sketchMapping = 0;
        }
        _object.Dispose();
    }
}
