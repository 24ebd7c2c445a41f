using System.Net;
using System.Net.Sockets;

namespace Millisampler.Lab;

/// <summary>
/// A TCP incast: several senders, each with one or more connections to one <see cref="TcpSink"/>,
/// write a number of bytes per connection starting at one CLOCK_TAI instant. Connections are opened
/// before the instant, so the burst is data only. Each sender runs on its own thread inside its
/// namespace, writing its connections round-robin without blocking, then shuts them down and waits
/// for the sink to close each one, which marks completion (all data received).
/// </summary>
public static class TcpIncast
{
    /// <summary>Runs the incast; returns when every connection completed or <paramref name="timeout"/> (default 30 s) passes.</summary>
    public static async Task<BurstResult> RunAsync(
        IReadOnlyList<BurstSender> senders,
        IPEndPoint target,
        long startTaiNs,
        TimeSpan? timeout = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(senders);
        ArgumentNullException.ThrowIfNull(target);
        foreach (var s in senders)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(s.Bytes, 1, nameof(senders));
            if (s.Connections is < 1 or > 1000)
            {
                throw new ArgumentOutOfRangeException(nameof(senders), s.Connections, "Connections per sender must be 1..1000.");
            }
        }
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        stop.CancelAfter(timeout ?? TimeSpan.FromSeconds(30));
        var token = stop.Token;
        var results = await Task.WhenAll(senders.Select(s => NetNs.RunAsync(s.Namespace, () => Send(s, target, startTaiNs, token), "tcp incast"))).ConfigureAwait(false);
        return new BurstResult(startTaiNs, results);
    }

    private static BurstSenderResult Send(BurstSender sender, IPEndPoint target, long startTaiNs, CancellationToken token)
    {
        var sockets = new List<Socket>(sender.Connections);
        try
        {
            for (var i = 0; i < sender.Connections; i++)
            {
                var s = new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                sockets.Add(s);
                // Async connect so the run's timeout bounds it (a blocking connect to a silent peer lasts minutes).
                s.ConnectAsync(target, token).AsTask().GetAwaiter().GetResult();
                s.Blocking = false;
            }

            var payload = new byte[64 * 1024];
            var written = new long[sockets.Count];
            var pending = new List<Socket>(sockets);
            var index = sockets.Select((s, i) => (s, i)).ToDictionary(p => p.s, p => p.i);
            var started = TaiClock.SleepUntil(startTaiNs, token);
            while (pending.Count > 0 && !token.IsCancellationRequested)
            {
                var progressed = false;
                for (var k = pending.Count - 1; k >= 0; k--)
                {
                    var s = pending[k];
                    var i = index[s];
                    var n = (int)Math.Min(payload.Length, sender.Bytes - written[i]);
                    var sent = s.Send(payload, 0, n, SocketFlags.None, out var error);
                    if (error == SocketError.Success)
                    {
                        written[i] += sent;
                        progressed = true;
                        if (written[i] >= sender.Bytes)
                        {
                            s.Shutdown(SocketShutdown.Send);
                            pending.RemoveAt(k);
                        }
                    }
                    else if (error != SocketError.WouldBlock)
                    {
                        throw new SocketException((int)error);
                    }
                }
                if (!progressed && pending.Count > 0)
                {
                    var writable = new List<Socket>(pending);
                    Socket.Select(null, writable, null, 10_000);
                }
            }
            var writtenAt = TaiClock.NowNs();

            // Completion: the sink closes its side once it has read everything and our FIN.
            var open = new List<Socket>(sockets);
            var infos = new TcpInfo[sockets.Count];
            var one = new byte[1];
            var completed = writtenAt;
            while (open.Count > 0 && !token.IsCancellationRequested)
            {
                var readable = new List<Socket>(open);
                Socket.Select(readable, null, null, 10_000);
                foreach (var s in readable)
                {
                    var n = s.Receive(one, 0, 1, SocketFlags.None, out var error);
                    if (error == SocketError.WouldBlock || n > 0)
                    {
                        continue;
                    }
                    completed = TaiClock.NowNs();
                    infos[index[s]] = TcpInfo.Read(s);
                    open.Remove(s);
                }
            }
            foreach (var s in open)
            {
                infos[index[s]] = TcpInfo.Read(s);
            }
            return new BurstSenderResult(sender.Namespace, started, writtenAt, completed, written.Sum(), 0, TcpInfoTotals.From(infos));
        }
        finally
        {
            foreach (var s in sockets)
            {
                s.Dispose();
            }
        }
    }
}
