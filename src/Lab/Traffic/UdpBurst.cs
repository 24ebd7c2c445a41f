using System.Net;
using System.Net.Sockets;
using Millisampler.Common.Time;

namespace Millisampler.Lab;

/// <summary>One sender of a synchronized burst: its namespace and how much it sends.</summary>
/// <param name="Namespace">Namespace the sender runs in.</param>
/// <param name="Bytes">Payload to send, bytes (UDP: over all datagrams; TCP: per connection).</param>
/// <param name="Connections">TCP only: connections from this sender, each sending <paramref name="Bytes"/>.</param>
public sealed record BurstSender(string Namespace, long Bytes, int Connections = 1);

/// <summary>What one sender of a burst did. Times are CLOCK_TAI ns.</summary>
/// <param name="Namespace">The sender's namespace.</param>
/// <param name="StartedTaiNs">When its first byte went to the kernel.</param>
/// <param name="WrittenTaiNs">When its last byte went to the kernel.</param>
/// <param name="CompletedTaiNs">TCP: when the receiver had everything (its close arrived back); UDP: same as <paramref name="WrittenTaiNs"/>.</param>
/// <param name="BytesSent">Payload accepted by the kernel.</param>
/// <param name="SendErrors">UDP: writes the kernel refused (e.g. ENOBUFS); TCP: 0.</param>
/// <param name="Tcp">TCP: sums of TCP_INFO over its connections; UDP: null.</param>
public sealed record BurstSenderResult(
    string Namespace,
    long StartedTaiNs,
    long WrittenTaiNs,
    long CompletedTaiNs,
    long BytesSent,
    long SendErrors,
    TcpInfoTotals? Tcp);

/// <summary>Outcome of a synchronized burst.</summary>
/// <param name="ScheduledTaiNs">The start instant asked for, CLOCK_TAI ns.</param>
/// <param name="Senders">Each sender, in the order given.</param>
public sealed record BurstResult(long ScheduledTaiNs, IReadOnlyList<BurstSenderResult> Senders)
{
    /// <summary>Latest start after the scheduled instant, ns (negative never: senders do not start early).</summary>
    public long MaxStartLatenessNs => Senders.Count == 0 ? 0 : Senders.Max(s => s.StartedTaiNs - ScheduledTaiNs);

    /// <summary>Payload sent by all senders, bytes.</summary>
    public long BytesSent => Senders.Sum(s => s.BytesSent);

    /// <summary>From the scheduled instant until the last sender completed.</summary>
    public TimeSpan Duration => Senders.Count == 0 ? TimeSpan.Zero : TimeNs.ToTimeSpan((Senders.Max(s => s.CompletedTaiNs) - ScheduledTaiNs));
}

/// <summary>
/// Several senders each send a number of bytes of UDP toward one receiver, all starting at one
/// CLOCK_TAI instant, as fast as the kernel takes them. Each sender runs on its own thread inside its
/// namespace, sleeps until just before the instant, then spins. With segmentation offload (UDP_SEGMENT)
/// one write carries up to 64 datagrams, so a sender spends little CPU and several senders on a small
/// machine really do overlap; the receiver still gets separate datagrams of the given size.
/// </summary>
public static class UdpBurst
{
    private const int SolUdp = 17;
    private const int UdpSegment = 103;

    /// <summary>Runs the burst; returns when every sender is done or <paramref name="timeout"/> (default 30 s) passes.</summary>
    public static async Task<BurstResult> RunAsync(
        IReadOnlyList<BurstSender> senders,
        IPEndPoint target,
        long startTaiNs,
        int datagramBytes = 1400,
        bool segmentationOffload = true,
        TimeSpan? timeout = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(senders);
        ArgumentNullException.ThrowIfNull(target);
        if (datagramBytes is < 1 or > 1472)
        {
            throw new ArgumentOutOfRangeException(nameof(datagramBytes), datagramBytes, "Datagram payload must be 1..1472 bytes (one 1500-byte frame).");
        }
        foreach (var s in senders)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(s.Bytes, 1, nameof(senders));
        }
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stop.CancelAfter(timeout ?? TimeSpan.FromSeconds(30));
        var token = stop.Token;
        var results = await Task.WhenAll(senders.Select(s => NetNs.RunAsync(s.Namespace, () => Send(s, target, startTaiNs, datagramBytes, segmentationOffload, token), "udp burst"))).ConfigureAwait(false);
        return new BurstResult(startTaiNs, results);
    }

    private static BurstSenderResult Send(BurstSender sender, IPEndPoint target, long startTaiNs, int datagramBytes, bool segmentationOffload, CancellationToken token)
    {
        using var socket = new Socket(target.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Connect(target);
        var writeBytes = datagramBytes;
        if (segmentationOffload)
        {
            // The kernel caps one UDP GSO write at 64 segments and 64 KiB of payload.
            socket.SetRawSocketOption(SolUdp, UdpSegment, BitConverter.GetBytes(datagramBytes));
            writeBytes = datagramBytes * Math.Min(64, 65_000 / datagramBytes);
        }
        var payload = new byte[writeBytes];
        long sent = 0, errors = 0;
        var started = TaiClock.SleepUntil(startTaiNs, token);
        while (sent < sender.Bytes && !token.IsCancellationRequested)
        {
            var n = (int)Math.Min(writeBytes, sender.Bytes - sent);
            var written = socket.Send(payload, 0, n, SocketFlags.None, out var error);
            if (error == SocketError.Success)
            {
                sent += written;
            }
            else if (++errors > 1_000_000)
            {
                break;
            }
        }
        var done = TaiClock.NowNs();
        return new BurstSenderResult(sender.Namespace, started, done, done, sent, errors, null);
    }
}

/// <summary>Receives UDP in a namespace and counts datagrams and bytes; stops by itself after its lifetime.</summary>
public sealed class UdpSink : IAsyncDisposable
{
    private readonly Socket socket;
    private readonly CancellationTokenSource stop;
    private readonly Task loop;
    private long bytes;
    private long datagrams;
    private int disposed;

    private UdpSink(Socket socket, TimeSpan lifetime)
    {
        this.socket = socket;
        LocalEndPoint = (IPEndPoint)socket.LocalEndPoint!;
        stop = new CancellationTokenSource(lifetime);
        loop = Task.Run(ReceiveLoopAsync);
    }

    /// <summary>Where the sink listens.</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Payload bytes received.</summary>
    public long BytesReceived => Interlocked.Read(ref bytes);

    /// <summary>Datagrams received.</summary>
    public long DatagramsReceived => Interlocked.Read(ref datagrams);

    /// <summary>Binds <paramref name="endpoint"/> inside <paramref name="ns"/> with a large receive buffer.</summary>
    public static UdpSink Start(string ns, IPEndPoint endpoint, TimeSpan? lifetime = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        var s = NetNs.Run(ns, () =>
        {
            var sock = new Socket(endpoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
            try
            {
                sock.ReceiveBufferSize = 8 * 1024 * 1024;
                sock.Bind(endpoint);
                return sock;
            }
            catch
            {
                sock.Dispose();
                throw;
            }
        });
        return new UdpSink(s, lifetime ?? TcpSink.DefaultLifetime);
    }

    /// <summary>Waits until at least <paramref name="count"/> bytes arrived; throws <see cref="TimeoutException"/> after <paramref name="timeout"/>.</summary>
    public Task WaitForBytesAsync(long count, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        TcpSink.WaitUntilAsync(() => BytesReceived >= count, timeout, () => $"UDP sink got {BytesReceived} of {count} bytes", cancellationToken);

    /// <summary>Stops receiving and closes the socket.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }
        await stop.CancelAsync().ConfigureAwait(false);
        socket.Dispose();
        await loop.ConfigureAwait(false);
        stop.Dispose();
    }

    private async Task ReceiveLoopAsync()
    {
        var buffer = new byte[65536];
        try
        {
            while (true)
            {
                var n = await socket.ReceiveAsync(buffer, SocketFlags.None, stop.Token).ConfigureAwait(false);
                Interlocked.Add(ref bytes, n);
                Interlocked.Increment(ref datagrams);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Stopped.
        }
    }
}
