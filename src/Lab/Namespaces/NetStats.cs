using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Millisampler.Lab;

/// <summary>Counters of one interface from /proc/net/dev (bytes as the kernel counts them: whole frames, GSO skbs as one).</summary>
public sealed record InterfaceCounters(
    string Name,
    long RxBytes,
    long RxPackets,
    long RxDrops,
    long TxBytes,
    long TxPackets,
    long TxDrops)
{
    /// <summary>This reading minus an earlier one.</summary>
    public InterfaceCounters Minus(InterfaceCounters earlier) => new(
        Name,
        RxBytes - earlier.RxBytes,
        RxPackets - earlier.RxPackets,
        RxDrops - earlier.RxDrops,
        TxBytes - earlier.TxBytes,
        TxPackets - earlier.TxPackets,
        TxDrops - earlier.TxDrops);
}

/// <summary>A namespace's TCP counters: the Tcp line of /proc/net/snmp and the TcpExt line of /proc/net/netstat.</summary>
public sealed record TcpCounters(IReadOnlyDictionary<string, long> Tcp, IReadOnlyDictionary<string, long> TcpExt)
{
    /// <summary>Segments retransmitted (Tcp RetransSegs).</summary>
    public long RetransSegs => Tcp.GetValueOrDefault("RetransSegs");

    /// <summary>Segments sent, excluding retransmissions (Tcp OutSegs).</summary>
    public long OutSegs => Tcp.GetValueOrDefault("OutSegs");

    /// <summary>Segments received (Tcp InSegs).</summary>
    public long InSegs => Tcp.GetValueOrDefault("InSegs");

    /// <summary>Connections currently established (Tcp CurrEstab, a gauge).</summary>
    public long CurrEstab => Tcp.GetValueOrDefault("CurrEstab");

    /// <summary>This reading minus an earlier one, counter by counter (gauges subtract too).</summary>
    public TcpCounters Minus(TcpCounters earlier) => new(Subtract(Tcp, earlier.Tcp), Subtract(TcpExt, earlier.TcpExt));

    private static Dictionary<string, long> Subtract(IReadOnlyDictionary<string, long> now, IReadOnlyDictionary<string, long> before) =>
        now.ToDictionary(kv => kv.Key, kv => kv.Value - before.GetValueOrDefault(kv.Key));
}

/// <summary>
/// Reads a namespace's /proc/net counters from a thread inside it (/proc/thread-self/net follows the
/// reading thread's namespace since Linux 5.2; checked once per process, falling back to
/// <c>ip netns exec NS cat /proc/net/...</c> if not).
/// </summary>
public static class NetStats
{
    private static readonly Lock ProbeLock = new();
    private static bool? threadSelfFollowsNamespace;

    /// <summary>Counters of every interface in <paramref name="ns"/>, by name.</summary>
    public static IReadOnlyDictionary<string, InterfaceCounters> ReadInterfaces(string ns) => ParseNetDev(ReadProcNet(ns, "dev"));

    /// <summary>Counters of one interface in <paramref name="ns"/>.</summary>
    public static InterfaceCounters ReadInterface(string ns, string ifname) =>
        ReadInterfaces(ns).TryGetValue(ifname, out var c)
            ? c
            : throw new InvalidOperationException($"No interface '{ifname}' in /proc/net/dev of namespace '{ns}'.");

    /// <summary>Tcp and TcpExt counters of <paramref name="ns"/>.</summary>
    public static TcpCounters ReadTcp(string ns)
    {
        var (snmp, netstat) = ReadTwo(ns, "snmp", "netstat");
        return new TcpCounters(ParseSnmpSection(snmp, "Tcp"), ParseSnmpSection(netstat, "TcpExt"));
    }

    /// <summary>
    /// Whether /proc/thread-self/net shows the reading thread's namespace. Probed once: a socket made
    /// inside <paramref name="ns"/> must appear (by inode) in /proc/thread-self/net/tcp read there and not
    /// in the same file read from this process's own namespace.
    /// </summary>
    public static bool ThreadSelfNetFollowsNamespace(string ns)
    {
        lock (ProbeLock)
        {
            threadSelfFollowsNamespace ??= Probe(ns);
            return threadSelfFollowsNamespace.Value;
        }
    }

    /// <summary>Parses /proc/net/dev text.</summary>
    public static IReadOnlyDictionary<string, InterfaceCounters> ParseNetDev(string text)
    {
        var result = new Dictionary<string, InterfaceCounters>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0 || line.Contains('|', StringComparison.Ordinal))
            {
                continue;
            }
            var name = line[..colon].Trim();
            var f = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length < 16)
            {
                continue;
            }
            // rx: bytes packets errs drop fifo frame compressed multicast; tx: bytes packets errs drop ...
            result[name] = new InterfaceCounters(name, L(f[0]), L(f[1]), L(f[3]), L(f[8]), L(f[9]), L(f[11]));
        }
        return result;
    }

    /// <summary>Parses one section ("Tcp", "TcpExt", "Udp", ...) of /proc/net/snmp or /proc/net/netstat text: a header line of names followed by a line of values.</summary>
    public static IReadOnlyDictionary<string, long> ParseSnmpSection(string text, string section)
    {
        var prefix = section + ":";
        var lines = text.Split('\n').Where(l => l.StartsWith(prefix, StringComparison.Ordinal)).ToArray();
        var result = new Dictionary<string, long>(StringComparer.Ordinal);
        if (lines.Length < 2)
        {
            return result;
        }
        var names = lines[0][prefix.Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var values = lines[1][prefix.Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < Math.Min(names.Length, values.Length); i++)
        {
            result[names[i]] = L(values[i]);
        }
        return result;
    }

    private static string ReadProcNet(string ns, string file) => ReadTwo(ns, file, null).First;

    private static (string First, string Second) ReadTwo(string ns, string first, string? second)
    {
        if (ThreadSelfNetFollowsNamespace(ns))
        {
            return NetNs.Run(ns, () => (
                File.ReadAllText("/proc/thread-self/net/" + first),
                second is null ? "" : File.ReadAllText("/proc/thread-self/net/" + second)));
        }
        var a = Cat(ns, first);
        return (a, second is null ? "" : Cat(ns, second));
    }

    private static string Cat(string ns, string file) =>
        Shell.RunAsync("ip", ["netns", "exec", ns, "cat", "/proc/net/" + file]).GetAwaiter().GetResult().StdOut;

    private static bool Probe(string ns)
    {
        using var socket = NetNs.Run(ns, () =>
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            s.Listen(1);
            return s;
        });
        var link = new FileInfo($"/proc/self/fd/{socket.Handle}").LinkTarget ?? "";
        // "socket:[12345]"
        var inode = link.StartsWith("socket:[", StringComparison.Ordinal) ? link[8..^1] : "";
        if (inode.Length == 0)
        {
            return false;
        }
        var inside = NetNs.Run(ns, () => File.ReadAllText("/proc/thread-self/net/tcp"));
        var outside = File.ReadAllText("/proc/thread-self/net/tcp");
        return HasInode(inside, inode) && !HasInode(outside, inode);
    }

    private static bool HasInode(string procNetTcp, string inode) =>
        procNetTcp.Split('\n').Skip(1).Any(line =>
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            return f.Length > 9 && f[9] == inode;
        });

    private static long L(string s) => long.Parse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
}
