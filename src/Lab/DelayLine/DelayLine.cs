using System.Buffers;
using System.Diagnostics;
using System.Globalization;

namespace Millisampler.Lab;

/// <summary>Which forwarded IPv4 packets a <see cref="DelayLine"/> takes: those entering on <paramref name="InputInterface"/>, optionally only toward <paramref name="Destination"/> (an IPv4 prefix).</summary>
public sealed record DelayRule(string InputInterface, string? Destination = null);

/// <summary>
/// A userspace delay line, for kernels without netem. In a router namespace, policy routing
/// (<c>ip rule add iif X lookup T</c>, table T = default dev TUN) sends the chosen forwarded packets
/// into a TUN device; this class reads them, holds each for <see cref="Delay"/> and writes it back to
/// the TUN, from where the kernel forwards it by the main table (packets entering from the TUN match no
/// rule). Packets leave in arrival order. Both directions of a path need a rule to delay both ways.
/// </summary>
public sealed class DelayLine : IAsyncDisposable
{
    private const int MaxPacket = 65536;
    private readonly object gate = new(); // Monitor.Wait/Pulse pace the writer
    private readonly Queue<(long Due, byte[] Buffer, int Length)> queue = new();
    private readonly long delayTicks;
    private readonly int maxQueuedPackets;
    private readonly List<string> ruleDeletes = [];
    private int fd;
    private Thread? reader;
    private Thread? writer;
    private volatile bool stopping;
    private long lastDue;
    private long packetsDelayed;
    private long bytesDelayed;
    private long packetsDropped;
    private int maxQueueDepth;
    private int disposed;

    private DelayLine(string ns, string tunName, TimeSpan delay, int routingTable, int maxQueuedPackets, int fd)
    {
        Namespace = ns;
        TunName = tunName;
        Delay = delay;
        RoutingTable = routingTable;
        this.maxQueuedPackets = maxQueuedPackets;
        this.fd = fd;
        delayTicks = (long)(delay.TotalSeconds * Stopwatch.Frequency);
    }

    /// <summary>The namespace the delay line routes in.</summary>
    public string Namespace { get; }

    /// <summary>The TUN device's name in <see cref="Namespace"/>.</summary>
    public string TunName { get; }

    /// <summary>How long each packet is held (one way).</summary>
    public TimeSpan Delay { get; }

    /// <summary>The policy routing table pointing at the TUN.</summary>
    public int RoutingTable { get; }

    /// <summary>Packets held and sent on.</summary>
    public long PacketsDelayed => Interlocked.Read(ref packetsDelayed);

    /// <summary>Bytes (IP packets) held and sent on.</summary>
    public long BytesDelayed => Interlocked.Read(ref bytesDelayed);

    /// <summary>Packets dropped because the queue was full or the write back failed.</summary>
    public long PacketsDropped => Interlocked.Read(ref packetsDropped);

    /// <summary>Most packets held at once.</summary>
    public int MaxQueueDepth => Volatile.Read(ref maxQueueDepth);

    /// <summary>
    /// Creates the TUN device <paramref name="tunName"/> in <paramref name="ns"/>, the routing table and
    /// rules, and starts delaying. Only IPv4 is delayed: the lab routes no IPv6 (it assigns no IPv6
    /// addresses), so IPv6 destinations are rejected.
    /// </summary>
    public static async Task<DelayLine> StartAsync(
        NetworkLab lab,
        string ns,
        TimeSpan delay,
        IReadOnlyList<DelayRule> rules,
        string tunName = "dl0",
        int routingTable = 100,
        int maxQueuedPackets = 100_000,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lab);
        ArgumentNullException.ThrowIfNull(rules);
        lab.EnsureOwned(ns);
        if (delay < TimeSpan.Zero || delay > TimeSpan.FromSeconds(10))
        {
            throw new ArgumentOutOfRangeException(nameof(delay), delay, "Delay must be 0..10 s.");
        }
        if (routingTable is < 1 or > 252)
        {
            throw new ArgumentOutOfRangeException(nameof(routingTable), routingTable, "Routing table must be 1..252.");
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(maxQueuedPackets, 1);
        foreach (var r in rules)
        {
            LabNames.ValidateInterface(r.InputInterface);
            if (r.Destination?.Contains(':', StringComparison.Ordinal) == true)
            {
                throw new ArgumentException($"Delay rules take IPv4 destinations only, not {r.Destination}.", nameof(rules));
            }
        }

        var tunFd = NetNs.Run(ns, () => Tun.Create(tunName));
        var line = new DelayLine(ns, tunName, delay, routingTable, maxQueuedPackets, tunFd);
        try
        {
            lab.SetSysctls(ns, [new("net.ipv4.conf.all.rp_filter", "0"), new($"net/ipv4/conf/{tunName}/rp_filter", "0")]);
            var table = routingTable.ToString(CultureInfo.InvariantCulture);
            var lines = new List<string> { $"link set {tunName} up", $"route add default dev {tunName} table {table}" };
            var pref = 1000 + (routingTable * 32);
            foreach (var r in rules)
            {
                var to = r.Destination is null ? "" : $" to {r.Destination}";
                var p = (pref++).ToString(CultureInfo.InvariantCulture);
                line.ruleDeletes.Add($"-4 rule del pref {p}");
                lines.Add($"-4 rule add pref {p} iif {r.InputInterface}{to} lookup {table}");
            }
            await lab.IpBatchAsync(ns, lines, cancellationToken).ConfigureAwait(false);
            line.Start();
            return line;
        }
        catch
        {
            await line.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Stops the threads, closes the TUN (the device and its routes go away) and removes the rules.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }
        stopping = true;
        lock (gate)
        {
            Monitor.PulseAll(gate);
        }
        await Task.Run(() =>
        {
            reader?.Join();
            writer?.Join();
        }).ConfigureAwait(false);
        lock (gate)
        {
            while (queue.TryDequeue(out var p))
            {
                ArrayPool<byte>.Shared.Return(p.Buffer);
            }
        }
        if (fd > 0)
        {
            Libc.Close(fd);
            fd = -1;
        }
        if (ruleDeletes.Count > 0 && NetNs.Exists(Namespace))
        {
            // Best effort: if the namespace is going away anyway, the rules go with it.
            await NetworkLab.RunIpBatchAsync(Namespace, ruleDeletes, force: true, CancellationToken.None).ConfigureAwait(false);
        }
    }

    private void Start()
    {
        reader = new Thread(ReadLoop) { IsBackground = true, Name = $"delay-line read {TunName}" };
        writer = new Thread(WriteLoop) { IsBackground = true, Name = $"delay-line write {TunName}" };
        reader.Start();
        writer.Start();
    }

    private unsafe void ReadLoop()
    {
        var scratch = new byte[MaxPacket];
        var pfd = new Libc.PollFd { Fd = fd, Events = Libc.POLLIN };
        fixed (byte* buf = scratch)
        {
            while (!stopping)
            {
                pfd.REvents = 0;
                var ready = Libc.Poll(&pfd, 1, 100);
                if (ready <= 0)
                {
                    continue;
                }
                var n = (int)Libc.Read(fd, buf, MaxPacket);
                if (n <= 0)
                {
                    continue;
                }
                var now = Stopwatch.GetTimestamp();
                var copy = ArrayPool<byte>.Shared.Rent(n);
                scratch.AsSpan(0, n).CopyTo(copy);
                lock (gate)
                {
                    if (queue.Count >= maxQueuedPackets)
                    {
                        ArrayPool<byte>.Shared.Return(copy);
                        Interlocked.Increment(ref packetsDropped);
                        continue;
                    }
                    // Never before the previous packet: keeps arrival order even if the clock steps.
                    lastDue = Math.Max(now + delayTicks, lastDue);
                    queue.Enqueue((lastDue, copy, n));
                    if (queue.Count > maxQueueDepth)
                    {
                        Volatile.Write(ref maxQueueDepth, queue.Count);
                    }
                    if (queue.Count == 1)
                    {
                        Monitor.Pulse(gate);
                    }
                }
            }
        }
    }

    private unsafe void WriteLoop()
    {
        while (true)
        {
            (long Due, byte[] Buffer, int Length) packet;
            lock (gate)
            {
                if (stopping)
                {
                    return;
                }
                if (!queue.TryPeek(out packet))
                {
                    Monitor.Wait(gate, 100);
                    continue;
                }
                var wait = packet.Due - Stopwatch.GetTimestamp();
                if (wait > 0)
                {
                    // Whole milliseconds, rounded up: a packet may leave up to ~1 ms late, never early.
                    var ms = (int)Math.Min(100, ((wait * 1000) + Stopwatch.Frequency - 1) / Stopwatch.Frequency);
                    Monitor.Wait(gate, Math.Max(1, ms));
                    continue;
                }
                queue.Dequeue();
            }
            fixed (byte* p = packet.Buffer)
            {
                if (Libc.Write(fd, p, packet.Length) == packet.Length)
                {
                    Interlocked.Increment(ref packetsDelayed);
                    Interlocked.Add(ref bytesDelayed, packet.Length);
                }
                else
                {
                    Interlocked.Increment(ref packetsDropped);
                }
            }
            ArrayPool<byte>.Shared.Return(packet.Buffer);
        }
    }
}
