using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Millisampler.Lab;

/// <summary>What <see cref="TcpBulkSender"/> sends.</summary>
public sealed record TcpBulkOptions
{
    /// <summary>Namespace the connections start in.</summary>
    public required string Namespace { get; init; }

    /// <summary>Where to send (a <see cref="TcpSink"/>).</summary>
    public required IPEndPoint Target { get; init; }

    /// <summary>Parallel connections, 1..1024.</summary>
    public int Connections { get; init; } = 1;

    /// <summary>Payload over all connections, bytes, split evenly. Set this, <see cref="Duration"/>, or both (whichever ends first).</summary>
    public long? TotalBytes { get; init; }

    /// <summary>How long to keep writing.</summary>
    public TimeSpan? Duration { get; init; }

    /// <summary>Hard bound on the whole run, connect to last ack; the run stops and reports what it has.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Congestion control (TCP_CONGESTION), e.g. "cubic" or "reno"; null for the namespace default.</summary>
    public string? CongestionControl { get; init; }

    /// <summary>Bytes per write call.</summary>
    public int WriteBytes { get; init; } = 64 * 1024;
}

/// <summary>Outcome of a bulk transfer.</summary>
/// <param name="BytesWritten">Payload handed to the kernel, all connections.</param>
/// <param name="Elapsed">From the first write until every connection's data was acknowledged (or the timeout).</param>
/// <param name="TimedOut">True when <see cref="TcpBulkOptions.Timeout"/> cut the run short.</param>
/// <param name="PerConnection">TCP_INFO of each connection after its data and FIN were acknowledged.</param>
/// <param name="Totals">Sums over <paramref name="PerConnection"/>.</param>
public sealed record TcpBulkResult(long BytesWritten, TimeSpan Elapsed, bool TimedOut, IReadOnlyList<TcpInfo> PerConnection, TcpInfoTotals Totals)
{
    /// <summary>Goodput: payload bits per second over <see cref="Elapsed"/>.</summary>
    public double GoodputBitsPerSecond => Elapsed > TimeSpan.Zero ? BytesWritten * 8 / Elapsed.TotalSeconds : 0;
}

/// <summary>
/// Bulk TCP from one namespace to a sink: N connections writing as fast as they can. When a
/// connection has written its share it shuts down its sending side and waits for the sink to close
/// (so every byte and the FIN were acknowledged), then reads TCP_INFO.
/// </summary>
public static class TcpBulkSender
{
    private const int TcpCongestion = 13;

    /// <summary>Runs the transfer; always ends by <see cref="TcpBulkOptions.Timeout"/>.</summary>
    public static async Task<TcpBulkResult> RunAsync(TcpBulkOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);

        using var hardStop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        hardStop.CancelAfter(options.Timeout);
        var sockets = NetNs.Run(options.Namespace, () => CreateSockets(options));
        try
        {
            await Task.WhenAll(sockets.Select(s => s.ConnectAsync(options.Target, hardStop.Token).AsTask())).ConfigureAwait(false);

            var started = Stopwatch.GetTimestamp();
            var deadline = options.Duration is { } d ? started + (long)(d.TotalSeconds * Stopwatch.Frequency) : long.MaxValue;
            var shares = Split(options.TotalBytes ?? long.MaxValue, options.Connections);
            var payload = new byte[options.WriteBytes];
            var timedOut = false;
            var results = new (long Written, TcpInfo Info)[sockets.Length];
            try
            {
                await Task.WhenAll(sockets.Select(async (s, i) =>
                    results[i] = await RunConnectionAsync(s, shares[i], deadline, payload, hardStop.Token).ConfigureAwait(false))).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                timedOut = true;
                for (var i = 0; i < sockets.Length; i++)
                {
                    if (results[i].Info == default)
                    {
                        results[i].Info = TryRead(sockets[i]);
                    }
                }
            }
            var elapsed = Stopwatch.GetElapsedTime(started);
            var infos = results.Select(r => r.Info).ToList();
            return new TcpBulkResult(results.Sum(r => r.Written), elapsed, timedOut, infos, TcpInfoTotals.From(infos));
        }
        finally
        {
            foreach (var s in sockets)
            {
                s.Dispose();
            }
        }
    }

    private static async Task<(long Written, TcpInfo Info)> RunConnectionAsync(Socket s, long share, long deadline, byte[] payload, CancellationToken hardStop)
    {
        long written = 0;
        // The duration is checked between writes rather than by cancelling one, which could leave a write half done.
        while (written < share && Stopwatch.GetTimestamp() < deadline)
        {
            var n = (int)Math.Min(payload.Length, share - written);
            written += await s.SendAsync(payload.AsMemory(0, n), SocketFlags.None, hardStop).ConfigureAwait(false);
        }
        s.Shutdown(SocketShutdown.Send);
        var one = new byte[1];
        while (await s.ReceiveAsync(one, SocketFlags.None, hardStop).ConfigureAwait(false) > 0)
        {
            // The sink never answers; read until its close.
        }
        return (written, TcpInfo.Read(s));
    }

    private static Socket[] CreateSockets(TcpBulkOptions options)
    {
        var sockets = new Socket[options.Connections];
        try
        {
            for (var i = 0; i < sockets.Length; i++)
            {
                sockets[i] = new Socket(options.Target.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                if (options.CongestionControl is { } cc)
                {
                    sockets[i].SetRawSocketOption(TcpInfo.SolTcp, TcpCongestion, Encoding.ASCII.GetBytes(cc));
                }
            }
            return sockets;
        }
        catch
        {
            foreach (var s in sockets)
            {
                s?.Dispose();
            }
            throw;
        }
    }

    private static TcpInfo TryRead(Socket s)
    {
        try
        {
            return TcpInfo.Read(s);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or NotSupportedException)
        {
            return default;
        }
    }

    internal static long[] Split(long total, int parts)
    {
        var shares = new long[parts];
        if (total == long.MaxValue)
        {
            Array.Fill(shares, long.MaxValue);
            return shares;
        }
        for (var i = 0; i < parts; i++)
        {
            shares[i] = (total / parts) + (i < total % parts ? 1 : 0);
        }
        return shares;
    }

    private static void Validate(TcpBulkOptions o)
    {
        if (o.Connections is < 1 or > 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(o), o.Connections, "Connections must be 1..1024.");
        }
        if (o.TotalBytes is null && o.Duration is null)
        {
            throw new ArgumentException("Set TotalBytes, Duration, or both.", nameof(o));
        }
        if (o.TotalBytes is < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(o), o.TotalBytes, "TotalBytes must be positive.");
        }
        if (o.Duration is { } d && d <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(o), d, "Duration must be positive.");
        }
        if (o.Timeout <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(o), o.Timeout, "Timeout must be positive.");
        }
        if (o.WriteBytes is < 1 or > 16 * 1024 * 1024)
        {
            throw new ArgumentOutOfRangeException(nameof(o), o.WriteBytes, "WriteBytes must be 1..16 MiB.");
        }
    }
}
