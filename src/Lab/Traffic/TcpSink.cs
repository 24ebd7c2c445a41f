using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace Millisampler.Lab;

/// <summary>
/// Listens in a namespace, accepts every connection, reads and discards, and counts bytes. Closes a
/// connection when its peer does (so a sender waiting for that close knows its data arrived). Stops
/// by itself after its lifetime.
/// </summary>
public sealed class TcpSink : IAsyncDisposable
{
    /// <summary>Lifetime when none is given.</summary>
    public static readonly TimeSpan DefaultLifetime = TimeSpan.FromMinutes(5);

    // Every connection reads into the same buffer: the data is thrown away, so overlapping writes do not matter.
    private readonly byte[] discard = new byte[256 * 1024];
    private readonly Socket listener;
    private readonly CancellationTokenSource stop;
    private readonly ConcurrentDictionary<Socket, byte> connections = new();
    private readonly Task acceptLoop;
    private long bytesReceived;
    private int accepted;
    private int disposed;

    private TcpSink(Socket listener, TimeSpan lifetime)
    {
        this.listener = listener;
        LocalEndPoint = (IPEndPoint)listener.LocalEndPoint!;
        stop = new CancellationTokenSource(lifetime);
        stop.Token.Register(() => listener.Dispose());
        acceptLoop = Task.Run(AcceptLoopAsync);
    }

    /// <summary>Where the sink listens (with the real port when 0 was asked for).</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Bytes read so far, over all connections.</summary>
    public long BytesReceived => Interlocked.Read(ref bytesReceived);

    /// <summary>Connections accepted so far.</summary>
    public int ConnectionsAccepted => Volatile.Read(ref accepted);

    /// <summary>Connections open now.</summary>
    public int ConnectionsOpen => connections.Count;

    /// <summary>Starts listening on <paramref name="endpoint"/> inside <paramref name="ns"/>.</summary>
    /// <param name="ns">Namespace to listen in.</param>
    /// <param name="endpoint">Address and port; port 0 picks one.</param>
    /// <param name="backlog">Listen backlog (the kernel caps it at net.core.somaxconn, 4096 by default).</param>
    /// <param name="lifetime">After this the sink closes everything by itself; default <see cref="DefaultLifetime"/>.</param>
    public static TcpSink Start(string ns, IPEndPoint endpoint, int backlog = 4096, TimeSpan? lifetime = null)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentOutOfRangeException.ThrowIfLessThan(backlog, 1);
        var socket = NetNs.Run(ns, () =>
        {
            var s = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                s.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                if (endpoint.Address.Equals(IPAddress.IPv6Any))
                {
                    // [::] takes IPv4 too, as a listener on "any" is expected to.
                    s.DualMode = true;
                }
                s.Bind(endpoint);
                s.Listen(backlog);
                return s;
            }
            catch
            {
                s.Dispose();
                throw;
            }
        });
        return new TcpSink(socket, lifetime ?? DefaultLifetime);
    }

    /// <summary>Waits until at least <paramref name="bytes"/> have been read; throws <see cref="TimeoutException"/> after <paramref name="timeout"/>.</summary>
    public Task WaitForBytesAsync(long bytes, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        WaitUntilAsync(() => BytesReceived >= bytes, timeout, () => $"sink read {BytesReceived} of {bytes} bytes", cancellationToken);

    /// <summary>Waits until at least <paramref name="count"/> connections are open; throws <see cref="TimeoutException"/> after <paramref name="timeout"/>.</summary>
    public Task WaitForOpenConnectionsAsync(int count, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        WaitUntilAsync(() => ConnectionsOpen >= count, timeout, () => $"sink has {ConnectionsOpen} of {count} connections open", cancellationToken);

    /// <summary>Stops accepting, closes every connection and waits for the loops to end.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }
        await stop.CancelAsync().ConfigureAwait(false);
        listener.Dispose();
        foreach (var c in connections.Keys)
        {
            c.Dispose();
        }
        await acceptLoop.ConfigureAwait(false);
        stop.Dispose();
    }

    internal static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, Func<string> describe, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        while (!condition())
        {
            try
            {
                await Task.Delay(5, deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                if (condition())
                {
                    return;
                }
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds:0.#} s: {describe()}.");
            }
        }
    }

    private async Task AcceptLoopAsync()
    {
        var readers = new List<Task>();
        try
        {
            while (!stop.IsCancellationRequested)
            {
                var c = await listener.AcceptAsync(stop.Token).ConfigureAwait(false);
                Interlocked.Increment(ref accepted);
                connections[c] = 0;
                readers.Add(ReadLoopAsync(c));
                if (readers.Count > 4096)
                {
                    readers.RemoveAll(t => t.IsCompleted);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Stopped.
        }
        foreach (var c in connections.Keys)
        {
            c.Dispose();
        }
        await Task.WhenAll(readers).ConfigureAwait(false);
    }

    private async Task ReadLoopAsync(Socket c)
    {
        try
        {
            while (true)
            {
                var n = await c.ReceiveAsync(discard, SocketFlags.None, stop.Token).ConfigureAwait(false);
                if (n == 0)
                {
                    break;
                }
                Interlocked.Add(ref bytesReceived, n);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // Closed by us or reset by the peer.
        }
        finally
        {
            connections.TryRemove(c, out _);
            c.Dispose();
        }
    }
}
