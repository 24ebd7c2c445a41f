using System.Runtime.InteropServices;

namespace Millisampler.Agent.Bpf.Native;

/// <summary>The libc calls the agent makes (its clocks are read through Millisampler.Common.Time.SystemClocks): adjtimex, file descriptors, fsync, netlink sockets, mmap.</summary>
internal static unsafe partial class Libc
{
    private const string Lib = "libc";

    public const int ProtRead = 1;
    public const int ProtWrite = 2;
    public const int MapShared = 1;
    public const int StaUnsync = 0x0040;

    /// <summary>struct timex on x86-64/arm64 (208 bytes); only the fields we read are named.</summary>
    [StructLayout(LayoutKind.Explicit, Size = 208)]
    public struct Timex
    {
        [FieldOffset(0)] public uint Modes;
        [FieldOffset(24)] public long MaxErrorUs;
        [FieldOffset(32)] public long EstErrorUs;
        [FieldOffset(40)] public int Status;
        [FieldOffset(160)] public int Tai;
    }

    [LibraryImport(Lib, EntryPoint = "adjtimex", SetLastError = true)]
    public static partial int AdjTimex(Timex* tx);

    public const int OpenReadOnly = 0;
    public const int OpenCloseOnExec = 0x80000;
    public const int CloneNewNet = 0x40000000;

    [LibraryImport(Lib, EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Open(string path, int flags);

    [LibraryImport(Lib, EntryPoint = "setns", SetLastError = true)]
    public static partial int SetNs(int fd, int nsType);

    [LibraryImport(Lib, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport(Lib, EntryPoint = "fsync", SetLastError = true)]
    public static partial int Fsync(int fd);

    public const int AfNetlink = 16;
    public const int SockRaw = 3;
    public const int SockCloseOnExec = 0x80000;
    public const int NetlinkRoute = 0;
    public const int SolSocket = 1;
    public const int SoRcvTimeout = 20;

    [LibraryImport(Lib, EntryPoint = "socket", SetLastError = true)]
    public static partial int Socket(int domain, int type, int protocol);

    [LibraryImport(Lib, EntryPoint = "setsockopt", SetLastError = true)]
    public static partial int SetSockOpt(int fd, int level, int name, long[] value, int length);

    [LibraryImport(Lib, EntryPoint = "send", SetLastError = true)]
    public static partial nint Send(int fd, byte[] buffer, nint length, int flags);

    [LibraryImport(Lib, EntryPoint = "recv", SetLastError = true)]
    public static partial nint Recv(int fd, byte[] buffer, nint length, int flags);

    [LibraryImport(Lib, EntryPoint = "mmap", SetLastError = true)]
    public static partial nint Mmap(nint addr, nuint length, int prot, int flags, int fd, long offset);

    [LibraryImport(Lib, EntryPoint = "munmap", SetLastError = true)]
    public static partial int Munmap(nint addr, nuint length);

    [LibraryImport(Lib, EntryPoint = "if_nametoindex", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial uint IfNameToIndex(string name);

    [LibraryImport(Lib, EntryPoint = "strerror")]
    public static partial nint StrError(int errnum);

    [LibraryImport(Lib, EntryPoint = "vsnprintf")]
    public static partial int VsnPrintf(byte* buffer, nuint size, nint format, nint args);

    /// <summary>strerror text for an errno value.</summary>
    public static string ErrorText(int errno) => Marshal.PtrToStringUTF8(StrError(errno)) ?? $"errno {errno}";
}
