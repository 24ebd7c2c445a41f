namespace Millisampler.Agent.Bpf;

/// <summary>
/// A failure of the kernel side, worded for the person running the agent: one sentence saying
/// what failed and what to do, plus the verifier's or libbpf's log when there is one.
/// </summary>
public sealed class BpfException : Exception
{
    public BpfException(string message, int errno = 0, string? kernelLog = null)
        : base(message)
    {
        Errno = errno;
        KernelLog = kernelLog ?? string.Empty;
    }

    /// <summary>The errno behind the failure, 0 when none.</summary>
    public int Errno { get; }

    /// <summary>What libbpf and the verifier printed while the failing call ran.</summary>
    public string KernelLog { get; }

    internal const int EPERM = 1;
    internal const int ENOENT = 2;
    internal const int EACCES = 13;
    internal const int EEXIST = 17;
    internal const int EINVAL = 22;
    internal const int ENOSYS = 38;
    internal const int EOPNOTSUPP = 95;

    /// <summary>Builds the exception for a failed call, explaining the errno values people meet.</summary>
    internal static BpfException FromErrno(string what, int errno, string? log = null)
    {
        errno = Math.Abs(errno);
        string hint = errno switch
        {
            EPERM or EACCES when log is { Length: > 0 } && log.Contains("processed", StringComparison.Ordinal)
                => "the kernel's verifier rejected the program (its log follows)",
            EPERM or EACCES => "permission denied: the agent needs root, or CAP_BPF, CAP_NET_ADMIN and CAP_PERFMON",
            ENOSYS => "this kernel has no eBPF support (bpf() syscall missing)",
            EOPNOTSUPP => "the kernel does not support this operation",
            _ => Native.Libc.ErrorText(errno),
        };
        return new BpfException($"{what}: {hint}.", errno, log);
    }

    public override string ToString() =>
        KernelLog.Length == 0 ? Message : $"{Message}{Environment.NewLine}{KernelLog}";
}
