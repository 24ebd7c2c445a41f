using System.Runtime.InteropServices;

namespace Millisampler.Agent.Bpf.Native;

/// <summary>
/// The parts of the system libbpf (libbpf.so.1, 1.1 or later) the agent uses. libbpf 1.x
/// returns negative errno values from these calls and NULL (with errno) from the open calls.
/// </summary>
internal static unsafe partial class LibBpf
{
    private const string Lib = "libbpf.so.1";

    [LibraryImport(Lib, EntryPoint = "bpf_object__open_mem", SetLastError = true)]
    public static partial nint ObjectOpenMem(byte* buffer, nuint size, nint opts);

    [LibraryImport(Lib, EntryPoint = "bpf_object__load")]
    public static partial int ObjectLoad(nint obj);

    [LibraryImport(Lib, EntryPoint = "bpf_object__close")]
    public static partial void ObjectClose(nint obj);

    [LibraryImport(Lib, EntryPoint = "bpf_object__find_map_by_name", StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint FindMapByName(nint obj, string name);

    [LibraryImport(Lib, EntryPoint = "bpf_object__find_program_by_name", StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint FindProgramByName(nint obj, string name);

    [LibraryImport(Lib, EntryPoint = "bpf_map__fd")]
    public static partial int MapFd(nint map);

    [LibraryImport(Lib, EntryPoint = "bpf_map__value_size")]
    public static partial uint MapValueSize(nint map);

    [LibraryImport(Lib, EntryPoint = "bpf_map__key_size")]
    public static partial uint MapKeySize(nint map);

    [LibraryImport(Lib, EntryPoint = "bpf_map__max_entries")]
    public static partial uint MapMaxEntries(nint map);

    [LibraryImport(Lib, EntryPoint = "bpf_map__set_max_entries")]
    public static partial int MapSetMaxEntries(nint map, uint maxEntries);

    [LibraryImport(Lib, EntryPoint = "bpf_map__initial_value")]
    public static partial void* MapInitialValue(nint map, nuint* size);

    [LibraryImport(Lib, EntryPoint = "bpf_program__fd")]
    public static partial int ProgramFd(nint prog);

    [LibraryImport(Lib, EntryPoint = "bpf_program__set_autoload")]
    public static partial int ProgramSetAutoload(nint prog, [MarshalAs(UnmanagedType.U1)] bool autoload);

    [LibraryImport(Lib, EntryPoint = "bpf_map_update_elem")]
    public static partial int MapUpdateElem(int fd, void* key, void* value, ulong flags);

    [LibraryImport(Lib, EntryPoint = "bpf_map_lookup_elem")]
    public static partial int MapLookupElem(int fd, void* key, void* value);

    [LibraryImport(Lib, EntryPoint = "bpf_map_delete_elem")]
    public static partial int MapDeleteElem(int fd, void* key);

    [LibraryImport(Lib, EntryPoint = "bpf_map_get_next_key")]
    public static partial int MapGetNextKey(int fd, void* key, void* nextKey);

    [LibraryImport(Lib, EntryPoint = "bpf_link_create")]
    public static partial int LinkCreate(int progFd, int targetFd, int attachType, LinkCreateOpts* opts);

    [LibraryImport(Lib, EntryPoint = "bpf_tc_hook_create")]
    public static partial int TcHookCreate(TcHook* hook);

    [LibraryImport(Lib, EntryPoint = "bpf_tc_attach")]
    public static partial int TcAttach(TcHook* hook, TcOpts* opts);

    [LibraryImport(Lib, EntryPoint = "bpf_tc_detach")]
    public static partial int TcDetach(TcHook* hook, TcOpts* opts);

    [LibraryImport(Lib, EntryPoint = "bpf_tc_query")]
    public static partial int TcQuery(TcHook* hook, TcOpts* opts);

    [LibraryImport(Lib, EntryPoint = "bpf_prog_query")]
    public static partial int ProgQuery(int targetFd, int attachType, uint queryFlags, uint* attachFlags, uint* progIds, uint* progCount);

    [LibraryImport(Lib, EntryPoint = "bpf_prog_get_next_id")]
    public static partial int ProgGetNextId(uint startId, uint* nextId);

    [LibraryImport(Lib, EntryPoint = "bpf_prog_get_fd_by_id")]
    public static partial int ProgGetFdById(uint id);

    [LibraryImport(Lib, EntryPoint = "bpf_obj_get_info_by_fd")]
    public static partial int ObjGetInfoByFd(int fd, void* info, uint* infoLength);

    [LibraryImport(Lib, EntryPoint = "bpf_prog_test_run_opts")]
    public static partial int ProgTestRun(int progFd, TestRunOpts* opts);

    [LibraryImport(Lib, EntryPoint = "bpf_enable_stats")]
    public static partial int EnableStats(int statsType);

    [LibraryImport(Lib, EntryPoint = "libbpf_num_possible_cpus")]
    public static partial int NumPossibleCpus();

    [LibraryImport(Lib, EntryPoint = "libbpf_probe_bpf_helper")]
    public static partial int ProbeHelper(int progType, int helperId, nint opts);

    [LibraryImport(Lib, EntryPoint = "libbpf_set_print")]
    public static partial nint SetPrint(nint callback);

    public const int ProgTypeSchedCls = 3;
    public const int HelperKtimeGetTaiNs = 208;
    public const int AttachTcxIngress = 46;
    public const int AttachTcxEgress = 47;
    public const uint FlagBefore = 1u << 3;
    public const int TcIngress = 1;
    public const int TcEgress = 2;
    public const int StatsRunTime = 0;
    public const ulong UpdateAny = 0;

    /// <summary>libbpf 1.1's struct bpf_link_create_opts (64 bytes on x86-64).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 64)]
    public struct LinkCreateOpts
    {
        [FieldOffset(0)] public nuint Size;
        [FieldOffset(8)] public uint Flags;
    }

    /// <summary>struct bpf_tc_hook.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 24)]
    public struct TcHook
    {
        [FieldOffset(0)] public nuint Size;
        [FieldOffset(8)] public int IfIndex;
        [FieldOffset(12)] public int AttachPoint;
        [FieldOffset(16)] public uint Parent;
    }

    /// <summary>struct bpf_tc_opts.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 32)]
    public struct TcOpts
    {
        [FieldOffset(0)] public nuint Size;
        [FieldOffset(8)] public int ProgFd;
        [FieldOffset(12)] public uint Flags;
        [FieldOffset(16)] public uint ProgId;
        [FieldOffset(20)] public uint Handle;
        [FieldOffset(24)] public uint Priority;
    }

    /// <summary>struct bpf_test_run_opts.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 80)]
    public struct TestRunOpts
    {
        [FieldOffset(0)] public nuint Size;
        [FieldOffset(8)] public void* DataIn;
        [FieldOffset(16)] public void* DataOut;
        [FieldOffset(24)] public uint DataSizeIn;
        [FieldOffset(28)] public uint DataSizeOut;
        [FieldOffset(32)] public void* CtxIn;
        [FieldOffset(40)] public void* CtxOut;
        [FieldOffset(48)] public uint CtxSizeIn;
        [FieldOffset(52)] public uint CtxSizeOut;
        [FieldOffset(56)] public uint RetVal;
        [FieldOffset(60)] public int Repeat;
        [FieldOffset(64)] public uint Duration;
        [FieldOffset(68)] public uint Flags;
        [FieldOffset(72)] public uint Cpu;
        [FieldOffset(76)] public uint BatchSize;
    }

    /// <summary>The head of struct bpf_prog_info: enough for type, id, sizes, name and run statistics.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 232)]
    public struct ProgInfo
    {
        [FieldOffset(0)] public uint Type;
        [FieldOffset(4)] public uint Id;
        [FieldOffset(16)] public uint JitedProgLen;
        [FieldOffset(20)] public uint XlatedProgLen;
        [FieldOffset(64)] public fixed byte Name[16];
        [FieldOffset(192)] public ulong RunTimeNs;
        [FieldOffset(200)] public ulong RunCount;
    }
}
