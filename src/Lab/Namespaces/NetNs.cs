using System.Runtime.ExceptionServices;

namespace Millisampler.Lab;

/// <summary>
/// Runs code inside a named network namespace (one made by <c>ip netns add</c>) from this process.
/// Each call gets a new thread that joins the namespace with setns(CLONE_NEWNET) and ends when the
/// code returns, so no pooled thread is ever left in a foreign namespace. Sockets and TUN devices
/// created there stay in that namespace and may be used from any thread afterwards.
/// </summary>
public static class NetNs
{
    /// <summary>Where <c>ip netns</c> keeps the bind mounts that name namespaces.</summary>
    public const string RunDirectory = "/var/run/netns";

    /// <summary>Path of the namespace file for <paramref name="ns"/>.</summary>
    public static string PathOf(string ns)
    {
        ValidateName(ns);
        return Path.Combine(RunDirectory, ns);
    }

    /// <summary>True when a namespace of that name exists.</summary>
    public static bool Exists(string ns) => File.Exists(PathOf(ns));

    /// <summary>Runs <paramref name="f"/> on a new thread inside <paramref name="ns"/> and waits for it.</summary>
    public static T Run<T>(string ns, Func<T> f)
    {
        ArgumentNullException.ThrowIfNull(f);
        var fd = OpenNamespace(ns);
        T result = default!;
        ExceptionDispatchInfo? error = null;
        var thread = new Thread(() =>
        {
            try
            {
                Enter(fd, ns);
                result = f();
            }
            catch (Exception e)
            {
                error = ExceptionDispatchInfo.Capture(e);
            }
        })
        {
            IsBackground = true,
            Name = $"netns {ns}",
        };
        try
        {
            thread.Start();
            thread.Join();
        }
        finally
        {
            Libc.Close(fd);
        }
        error?.Throw();
        return result;
    }

    /// <summary>Runs <paramref name="action"/> on a new thread inside <paramref name="ns"/> and waits for it.</summary>
    public static void Run(string ns, Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        Run(ns, () =>
        {
            action();
            return 0;
        });
    }

    /// <summary>
    /// Starts <paramref name="f"/> on a new dedicated thread inside <paramref name="ns"/>; for long-running
    /// or blocking work (senders that spin until an instant, delay lines). The task completes when f returns.
    /// </summary>
    public static Task<T> RunAsync<T>(string ns, Func<T> f, string? threadName = null)
    {
        ArgumentNullException.ThrowIfNull(f);
        var fd = OpenNamespace(ns);
        var tcs = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                try
                {
                    Enter(fd, ns);
                }
                finally
                {
                    Libc.Close(fd);
                }
                tcs.SetResult(f());
            }
            catch (OperationCanceledException e)
            {
                tcs.SetCanceled(e.CancellationToken);
            }
            catch (Exception e)
            {
                tcs.SetException(e);
            }
        })
        {
            IsBackground = true,
            Name = threadName ?? $"netns {ns}",
        };
        try
        {
            thread.Start();
        }
        catch
        {
            Libc.Close(fd);
            throw;
        }
        return tcs.Task;
    }

    /// <summary>Interface index of <paramref name="ifname"/> inside <paramref name="ns"/>; throws if it does not exist.</summary>
    public static int GetIfIndex(string ns, string ifname)
    {
        var index = Run(ns, () => Libc.IfNameToIndex(ifname));
        if (index == 0)
        {
            throw new InvalidOperationException($"No interface '{ifname}' in namespace '{ns}'.");
        }
        return (int)index;
    }

    private static int OpenNamespace(string ns)
    {
        var path = PathOf(ns);
        var fd = Libc.Open(path, Libc.O_RDONLY | Libc.O_CLOEXEC);
        if (fd < 0)
        {
            throw Libc.Error($"open {path}");
        }
        return fd;
    }

    private static void Enter(int fd, string ns)
    {
        if (Libc.SetNs(fd, Libc.CLONE_NEWNET) != 0)
        {
            throw Libc.Error($"setns(CLONE_NEWNET) into {ns}");
        }
    }

    internal static void ValidateName(string ns)
    {
        ArgumentException.ThrowIfNullOrEmpty(ns);
        if (ns.Contains('/') || ns is "." or "..")
        {
            throw new ArgumentException($"'{ns}' is not a namespace name.", nameof(ns));
        }
    }
}
