using System.Runtime.InteropServices;
using Millisampler.Agent.Bpf.Native;

namespace Millisampler.Agent.Bpf;

/// <summary>
/// An eBPF object file opened from memory through libbpf: programs and maps by name, load with
/// the verifier's log on failure. Disposing closes every fd the object holds.
/// </summary>
internal sealed unsafe class BpfObject : IDisposable
{
    private nint _object;
    private nint _image;
    private readonly string _displayName;

    private BpfObject(nint obj, nint image, string displayName)
    {
        _object = obj;
        _image = image;
        _displayName = displayName;
    }

    /// <summary>Opens an ELF image; nothing reaches the kernel until <see cref="Load"/>.</summary>
    public static BpfObject Open(ReadOnlySpan<byte> image, string displayName)
    {
        if (!NativeLibrary.TryLoad("libbpf.so.1", out var lib))
        {
            throw new BpfException("libbpf.so.1 was not found: install the system libbpf (Debian/Ubuntu: apt-get install libbpf1).");
        }

        NativeLibrary.Free(lib);
        LibBpfLog.Install();
        LibBpfLog.Take();

        // libbpf reads the image until the load finishes, so it lives in native memory until then.
        nint mem = (nint)NativeMemory.Alloc((nuint)image.Length);
        image.CopyTo(new Span<byte>((void*)mem, image.Length));
        nint obj = LibBpf.ObjectOpenMem((byte*)mem, (nuint)image.Length, 0);
        if (obj == 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            NativeMemory.Free((void*)mem);
            throw BpfException.FromErrno($"Opening the eBPF object {displayName} failed", errno, LibBpfLog.Take());
        }
        return new BpfObject(obj, mem, displayName);
    }

    /// <summary>Verifies and loads every program marked to load, creating the maps.</summary>
    public void Load()
    {
        int err = LibBpf.ObjectLoad(_object);
        FreeImage();
        if (err != 0)
        {
            throw BpfException.FromErrno($"Loading the eBPF programs of {_displayName} into the kernel failed", err, LibBpfLog.Take());
        }
    }

    /// <summary>Whether the object has a map of this name (benchmarks load older builds of the object).</summary>
    public bool HasMap(string name) => LibBpf.FindMapByName(_object, name) != 0;

    public nint Map(string name)
    {
        nint map = LibBpf.FindMapByName(_object, name);
        return map != 0 ? map : throw new BpfException($"The eBPF object {_displayName} has no map '{name}': the object and the agent do not match.");
    }

    /// <summary>The map's fd, after checking its value size against the C# mirror.</summary>
    public int MapFd(string name, int expectedValueSize)
    {
        nint map = Map(name);
        uint size = LibBpf.MapValueSize(map);
        if (size != expectedValueSize)
        {
            throw new BpfException($"Map '{name}' holds {size}-byte values but the agent expects {expectedValueSize}: bpf/millisampler.h and SharedTypes.cs disagree.");
        }

        return LibBpf.MapFd(map);
    }

    /// <summary>A map's descriptor whatever its value size (a map the caller never reads values of).</summary>
    public int MapFd(string name) => LibBpf.MapFd(Map(name));

    public uint MaxEntries(string map) => LibBpf.MapMaxEntries(Map(map));

    public void SetMaxEntries(string name, uint entries)
    {
        int err = LibBpf.MapSetMaxEntries(Map(name), entries);
        if (err != 0)
        {
            throw BpfException.FromErrno($"Sizing map '{name}' to {entries} entries failed", err);
        }
    }

    /// <summary>
    /// Overwrites a global data section (".rodata.NAME") before load; its size must equal the
    /// value's, so a section that grew in C cannot be half-written from here.
    /// </summary>
    public void SetSectionValue<T>(string section, in T value)
        where T : unmanaged
    {
        nuint size;
        void* data = LibBpf.MapInitialValue(Map(section), &size);
        if (data == null || size != (nuint)sizeof(T))
        {
            throw new BpfException($"Section '{section}' of {_displayName} holds {size} bytes but the agent writes {sizeof(T)}: the object and the agent do not match.");
        }

        *(T*)data = value;
    }

    public int ProgramFd(string name)
    {
        nint prog = LibBpf.FindProgramByName(_object, name);
        int fd = prog == 0 ? -1 : LibBpf.ProgramFd(prog);
        return fd >= 0 ? fd : throw new BpfException($"The eBPF program '{name}' of {_displayName} did not load.");
    }

    public void SetAutoload(string name, bool load)
    {
        nint prog = LibBpf.FindProgramByName(_object, name);
        if (prog == 0)
        {
            throw new BpfException($"The eBPF object {_displayName} has no program '{name}': the object and the agent do not match.");
        }

        LibBpf.ProgramSetAutoload(prog, load);
    }

    private void FreeImage()
    {
        if (_image != 0)
        {
            NativeMemory.Free((void*)_image);
            _image = 0;
        }
    }

    public void Dispose()
    {
        if (_object != 0)
        {
            // Closes every program and map fd; a program still attached through a link stays until the link closes.
            LibBpf.ObjectClose(_object);
            _object = 0;
        }
        FreeImage();
    }
}
