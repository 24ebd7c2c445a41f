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

    private nint _object;
    private nint _sketchMapping;
    private nuint _sketchMappingLength;

    private SamplerObject(nint obj) => _object = obj;

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
            throw new ArgumentOutOfRangeException(nameof(options), "MaxBins must be 1..1000000.");
        byte[] image = ReadEmbeddedObject();
        EnsureLibBpf();
        LibBpfLog.Install();
        LibBpfLog.Take();

        nint mem = (nint)NativeMemory.Alloc((nuint)image.Length);
        SamplerObject? result = null;
        try
        {
            image.CopyTo(new Span<byte>((void*)mem, image.Length));
            nint obj = LibBpf.ObjectOpenMem((byte*)mem, (nuint)image.Length, 0);
            if (obj == 0)
                throw BpfException.FromErrno("Opening the eBPF object failed", Marshal.GetLastPInvokeError(), LibBpfLog.Take());
            result = new SamplerObject(obj);
            result.Configure(options);
            int err = LibBpf.ObjectLoad(obj);
            if (err != 0)
                throw BpfException.FromErrno("Loading the eBPF programs into the kernel failed", err, LibBpfLog.Take());
            result.Resolve(options);
            var loaded = result;
            result = null;
            return loaded;
        }
        finally
        {
            result?.Dispose();
            NativeMemory.Free((void*)mem);
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

    private static void EnsureLibBpf()
    {
        if (!NativeLibrary.TryLoad("libbpf.so.1", out var handle))
            throw new BpfException("libbpf.so.1 was not found: install the system libbpf (Debian/Ubuntu: apt-get install libbpf1).");
        NativeLibrary.Free(handle);
    }

    private void Configure(SamplerLoadOptions options)
    {
        bool tai = !options.ForceMonotonicClock &&
            LibBpf.ProbeHelper(LibBpf.ProgTypeSchedCls, LibBpf.HelperKtimeGetTaiNs, 0) == 1;
        Clock = tai ? ClockSource.Tai : ClockSource.MonotonicMapped;
        SetAutoload("ms_ingress", tai);
        SetAutoload("ms_egress", tai);
        SetAutoload("ms_ingress_mono", !tai);
        SetAutoload("ms_egress_mono", !tai);
        SetAutoload("ms_empty", options.LoadBaselineProgram);
        SetMaxEntries("ms_bins", options.MaxBins);
        SetMaxEntries("ms_sketch", options.MaxBins);
        SetMaxEntries("ms_flows", options.MaxFlows);
    }

    private void Resolve(SamplerLoadOptions options)
    {
        bool tai = Clock == ClockSource.Tai;
        IngressProgramFd = ProgramFd(tai ? "ms_ingress" : "ms_ingress_mono");
        EgressProgramFd = ProgramFd(tai ? "ms_egress" : "ms_egress_mono");
        if (options.LoadBaselineProgram)
            BaselineProgramFd = ProgramFd("ms_empty");
        ConfigFd = MapFd("ms_config", sizeof(MsConfig));
        BinsFd = MapFd("ms_bins", sizeof(MsBin));
        SketchFd = MapFd("ms_sketch", sizeof(MsSketch));
        FlowsFd = MapFd("ms_flows", sizeof(MsFlow));
        PrefixesFd = MapFd("ms_prefixes", sizeof(uint));
        StatsFd = MapFd("ms_stats", sizeof(MsStats));
        MaxBins = LibBpf.MapMaxEntries(Map("ms_bins"));
        MaxFlows = LibBpf.MapMaxEntries(Map("ms_flows"));
        PossibleCpus = LibBpf.NumPossibleCpus();
        if (PossibleCpus <= 0)
            throw BpfException.FromErrno("Counting possible CPUs failed", PossibleCpus);

        _sketchMappingLength = (nuint)((long)MaxBins * sizeof(MsSketch));
        _sketchMapping = Libc.Mmap(0, _sketchMappingLength, Libc.ProtRead | Libc.ProtWrite, Libc.MapShared, SketchFd, 0);
        if (_sketchMapping == -1)
        {
            _sketchMapping = 0;
            throw BpfException.FromErrno("Mapping the sketch map failed", Marshal.GetLastPInvokeError());
        }
    }

    private nint Map(string name)
    {
        nint map = LibBpf.FindMapByName(_object, name);
        return map != 0 ? map : throw new BpfException($"The eBPF object has no map '{name}': the object and the agent do not match.");
    }

    private int MapFd(string name, int expectedValueSize)
    {
        nint map = Map(name);
        uint size = LibBpf.MapValueSize(map);
        if (size != expectedValueSize)
            throw new BpfException($"Map '{name}' holds {size}-byte values but the agent expects {expectedValueSize}: bpf/millisampler.h and SharedTypes.cs disagree.");
        return LibBpf.MapFd(map);
    }

    private int ProgramFd(string name)
    {
        nint prog = LibBpf.FindProgramByName(_object, name);
        int fd = prog == 0 ? -1 : LibBpf.ProgramFd(prog);
        return fd >= 0 ? fd : throw new BpfException($"The eBPF program '{name}' did not load.");
    }

    private void SetAutoload(string name, bool load)
    {
        nint prog = LibBpf.FindProgramByName(_object, name);
        if (prog == 0)
            throw new BpfException($"The eBPF object has no program '{name}': the object and the agent do not match.");
        LibBpf.ProgramSetAutoload(prog, load);
    }

    private void SetMaxEntries(string name, uint entries)
    {
        int err = LibBpf.MapSetMaxEntries(Map(name), entries);
        if (err != 0)
            throw BpfException.FromErrno($"Sizing map '{name}' to {entries} entries failed", err);
    }

    public void Dispose()
    {
        if (_sketchMapping != 0)
        {
            Libc.Munmap(_sketchMapping, _sketchMappingLength);
            _sketchMapping = 0;
        }
        if (_object != 0)
        {
            // Closes every program and map fd; programs still attached through a link stay until the link closes.
            LibBpf.ObjectClose(_object);
            _object = 0;
        }
    }
}
