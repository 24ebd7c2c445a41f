using System.Runtime.InteropServices;
using System.Text;
using Millisampler.Agent.Bpf.Native;

namespace Millisampler.Agent.Bpf;

/// <summary>Which kernel mechanism attaches the programs.</summary>
public enum AttachMode
{
    /// <summary>tcx where the kernel has it (6.6+), clsact otherwise.</summary>
    Auto,

    /// <summary>tcx links: the kernel detaches them when the agent's file descriptors close, even on a crash.</summary>
    Tcx,

    /// <summary>A cls_bpf filter on the clsact qdisc at our own handle and priority.</summary>
    Clsact,
}

/// <summary>The direction of a hook.</summary>
public enum HookDirection
{
    Ingress,
    Egress,
}

/// <summary>
/// One program attached to one interface in one direction. Disposing detaches exactly what this
/// attached: the tcx link, or our filter (handle, priority) — never the qdisc, never another
/// tool's filter.
/// </summary>
internal sealed unsafe class HookAttachment : IDisposable
{
    /// <summary>tc handle of our clsact filters ("MS").</summary>
    public const uint ClsactHandle = 0x4d53;

    private int _linkFd = -1;
    private bool _clsactAttached;
    private uint _programId;

    // The network namespace the filter lives in: netlink addresses interfaces by index within the
    // calling thread's namespace, so the detach must run there, whichever thread disposes.
    private int _netnsFd = -1;

    private HookAttachment(string interfaceName, int ifIndex, HookDirection direction, AttachMode mode, ushort priority)
    {
        InterfaceName = interfaceName;
        IfIndex = ifIndex;
        Direction = direction;
        Mode = mode;
        Priority = priority;
    }

    public string InterfaceName { get; }
    public int IfIndex { get; }
    public HookDirection Direction { get; }

    /// <summary>The mechanism actually used: never <see cref="AttachMode.Auto"/>.</summary>
    public AttachMode Mode { get; }

    public ushort Priority { get; }

    /// <summary>Attaches at the head of the hook, so we see packets before anything that redirects them.</summary>
    public static HookAttachment Attach(string interfaceName, int programFd, HookDirection direction, AttachMode mode, ushort clsactPriority)
    {
        int ifIndex = ResolveIfIndex(interfaceName);
        if (mode is AttachMode.Tcx or AttachMode.Auto)
        {
            var opts = new LibBpf.LinkCreateOpts { Size = (nuint)sizeof(LibBpf.LinkCreateOpts), Flags = LibBpf.FlagBefore };
            int attachType = direction == HookDirection.Ingress ? LibBpf.AttachTcxIngress : LibBpf.AttachTcxEgress;
            int fd = LibBpf.LinkCreate(programFd, ifIndex, attachType, &opts);
            if (fd >= 0)
            {
                return new HookAttachment(interfaceName, ifIndex, direction, AttachMode.Tcx, 0)
                {
                    _linkFd = fd,
                    _programId = ProgramId(programFd),
                    _netnsFd = Libc.Open("/proc/thread-self/ns/net", Libc.OpenReadOnly | Libc.OpenCloseOnExec),
                };
            }

            bool unsupported = -fd is BpfException.EINVAL or BpfException.EOPNOTSUPP;
            if (mode == AttachMode.Tcx || !unsupported)
            {
                throw BpfException.FromErrno($"Attaching to {interfaceName} {Name(direction)} with tcx failed", fd, LibBpfLog.Take());
            }
        }

        var attachment = new HookAttachment(interfaceName, ifIndex, direction, AttachMode.Clsact, clsactPriority)
        {
            _programId = ProgramId(programFd),
            _netnsFd = Libc.Open("/proc/thread-self/ns/net", Libc.OpenReadOnly | Libc.OpenCloseOnExec),
        };
        try
        {
            attachment.AttachClsact(programFd);
            return attachment;
        }
        catch
        {
            attachment.Dispose();
            throw;
        }
    }

    private void AttachClsact(int programFd)
    {
        var hook = Hook();
        int err = LibBpf.TcHookCreate(&hook);
        if (err != 0 && -err != BpfException.EEXIST)
        {
            throw BpfException.FromErrno($"Creating the clsact qdisc on {InterfaceName} failed", err, LibBpfLog.Take());
        }

        uint flags = 0;
        var existing = new LibBpf.TcOpts { Size = (nuint)sizeof(LibBpf.TcOpts), Handle = ClsactHandle, Priority = Priority };
        if (LibBpf.TcQuery(&hook, &existing) == 0)
        {
            // Something sits at our handle and priority. Replace it only if it is ours (a crashed agent's).
            // Without CAP_SYS_ADMIN the program cannot be looked up by id; tc's own record of the
            // filter's name ("ms_ingress:[id]", as libbpf attached it) needs only NET_ADMIN.
            string name = ProgramName(existing.ProgId);
            if (name.Length == 0)
            {
                name = TcFilterNames.Read(IfIndex, Direction, Priority, ClsactHandle) ?? string.Empty;
            }

            if (!name.StartsWith("ms_", StringComparison.Ordinal))
            {
                throw new BpfException($"Another tc filter (program '{name}', id {existing.ProgId}) occupies handle 0x{ClsactHandle:x} priority {Priority} on {InterfaceName} {Name(Direction)}; choose another clsact priority for the agent.");
            }

            flags = 1; // BPF_TC_F_REPLACE: swap out our stale filter in place.
        }
        LibBpfLog.Take();

        var opts = new LibBpf.TcOpts
        {
            Size = (nuint)sizeof(LibBpf.TcOpts),
            ProgFd = programFd,
            Flags = flags,
            Handle = ClsactHandle,
            Priority = Priority,
        };
        err = LibBpf.TcAttach(&hook, &opts);
        if (err != 0)
        {
            throw BpfException.FromErrno($"Attaching a tc filter to {InterfaceName} {Name(Direction)} failed", err, LibBpfLog.Take());
        }

        _clsactAttached = true;
    }

    private LibBpf.TcHook Hook() => new()
    {
        Size = (nuint)sizeof(LibBpf.TcHook),
        IfIndex = IfIndex,
        AttachPoint = Direction == HookDirection.Ingress ? LibBpf.TcIngress : LibBpf.TcEgress,
    };

    /// <summary>
    /// Asks the kernel whether our program still sits on this hook: the interface may have gone (and the hook with
    /// it), or another tool may have removed the filter or the clsact qdisc. <paramref name="detail"/> says why not.
    /// </summary>
    public bool IsAttached(out string detail)
    {
        string why = "";
        bool attached = false;
        RunInOwnNamespace(() => attached = QueryAttached(out why));
        detail = why;
        return attached;
    }

    private bool QueryAttached(out string detail)
    {
        if (Libc.IfNameToIndex(InterfaceName) != (uint)IfIndex)
        {
            detail = $"interface {InterfaceName} (index {IfIndex}) is gone";
            return false;
        }

        if (Mode == AttachMode.Tcx)
        {
            const int MaxPrograms = 64;
            uint* ids = stackalloc uint[MaxPrograms];
            uint count = MaxPrograms;
            uint flags = 0;
            int attachType = Direction == HookDirection.Ingress ? LibBpf.AttachTcxIngress : LibBpf.AttachTcxEgress;
            int err = LibBpf.ProgQuery(IfIndex, attachType, 0, &flags, ids, &count);
            if (err != 0)
            {
                detail = $"querying tcx {Name(Direction)} of {InterfaceName} failed (errno {-err})";
                return false;
            }

            for (uint i = 0; i < count && i < MaxPrograms; i++)
            {
                if (ids[i] == _programId)
                {
                    detail = "";
                    return true;
                }
            }

            detail = $"program {_programId} is no longer on tcx {Name(Direction)} of {InterfaceName}";
            return false;
        }

        var hook = Hook();
        var opts = new LibBpf.TcOpts { Size = (nuint)sizeof(LibBpf.TcOpts), Handle = ClsactHandle, Priority = Priority };
        if (LibBpf.TcQuery(&hook, &opts) != 0 || (_programId != 0 && opts.ProgId != _programId))
        {
            detail = $"our tc filter (handle 0x{ClsactHandle:x} priority {Priority}) is no longer on {InterfaceName} {Name(Direction)}";
            return false;
        }

        detail = "";
        return true;
    }

    /// <summary>Kernel id of the program behind <paramref name="programFd"/>; 0 when the kernel does not say.</summary>
    private static uint ProgramId(int programFd)
    {
        LibBpf.ProgInfo info = default;
        uint len = (uint)sizeof(LibBpf.ProgInfo);
        return LibBpf.ObjGetInfoByFd(programFd, &info, &len) == 0 ? info.Id : 0;
    }

    /// <summary>Name of a loaded program by id, or an empty string.</summary>
    internal static string ProgramName(uint id)
    {
        int fd = LibBpf.ProgGetFdById(id);
        if (fd < 0)
        {
            return string.Empty;
        }

        try
        {
            LibBpf.ProgInfo info = default;
            uint len = (uint)sizeof(LibBpf.ProgInfo);
            if (LibBpf.ObjGetInfoByFd(fd, &info, &len) != 0)
            {
                return string.Empty;
            }

            var span = new ReadOnlySpan<byte>(info.Name, 16);
            int end = span.IndexOf((byte)0);
            return Encoding.ASCII.GetString(end < 0 ? span : span[..end]);
        }
        finally
        {
            Libc.Close(fd);
        }
    }

    internal static int ResolveIfIndex(string interfaceName)
    {
        if (string.IsNullOrWhiteSpace(interfaceName) || interfaceName.Length > 15)
        {
            throw new BpfException($"'{interfaceName}' is not a valid interface name.");
        }

        uint index = Libc.IfNameToIndex(interfaceName);
        if (index == 0)
        {
            throw new BpfException($"Interface '{interfaceName}' does not exist in this network namespace.", Marshal.GetLastPInvokeError());
        }

        return (int)index;
    }

    /// <summary>Runs <paramref name="action"/> in the attachment's namespace (on a short-lived thread if this one is elsewhere).</summary>
    private void RunInOwnNamespace(Action action)
    {
        if (_netnsFd < 0 || SameNamespace())
        {
            action();
            return;
        }
        var thread = new Thread(() =>
        {
            // The thread ends right after, so its namespace never leaks to other work.
            if (Libc.SetNs(_netnsFd, Libc.CloneNewNet) == 0)
            {
                action();
            }
        });
        thread.Start();
        thread.Join();
    }

    private bool SameNamespace()
    {
        try
        {
            return new FileInfo("/proc/thread-self/ns/net").LinkTarget == new FileInfo($"/proc/self/fd/{_netnsFd}").LinkTarget;
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static string Name(HookDirection d) => d == HookDirection.Ingress ? "ingress" : "egress";

    public void Dispose()
    {
        if (_linkFd >= 0)
        {
            Libc.Close(_linkFd);
            _linkFd = -1;
        }
        if (_clsactAttached)
        {
            _clsactAttached = false;
            RunInOwnNamespace(() =>
            {
                var hook = Hook();
                var opts = new LibBpf.TcOpts { Size = (nuint)sizeof(LibBpf.TcOpts), Handle = ClsactHandle, Priority = Priority };
                // The interface may be gone already; then so is the filter.
                LibBpf.TcDetach(&hook, &opts);
            });
        }
        if (_netnsFd >= 0)
        {
            Libc.Close(_netnsFd);
            _netnsFd = -1;
        }
    }
}
