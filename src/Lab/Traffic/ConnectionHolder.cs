using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Millisampler.Lab;

/// <summary>What <see cref="ConnectionHolder"/> holds open.</summary>
public sealed record ConnectionHolderOptions
{
    /// <summary>Namespace the connections start in.</summary>
    public required string Namespace { get; init; }

    /// <summary>Where to connect (a <see cref="TcpSink"/>, which must accept this many).</summary>
    public required IPEndPoint Target { get; init; }

    /// <summary>Concurrent connections, 1..20,000. Each costs an fd here (and one in the sink if it is in this process); one source address reaches about 28,000 (net.ipv4.ip_local_port_range).</summary>
    public required int Connections { get; init; }

    /// <summary>Every window of this length holds at least one packet of every connection; at least 2 ms.</summary>
    public TimeSpan Period { get; init; } = TimeSpan.FromMilliseconds(10);

    /// <summary>How long to keep sending after the connections are up.</summary>
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Payload of each message, bytes.</summary>
    public int MessageBytes { get; init; } = 16;

    /// <summary>Connection attempts in flight at once (keeps the listen backlog from overflowing).</summary>
    public int ConnectParallelism { get; init; } = 128;

    /// <summary>Bound on the connect phase.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(20);
}

/// <summary>Outcome of holding connections.</summary>
/// <param name="Requested">Connections asked for.</param>
/// <param name="Established">Connections that completed the handshake.</param>
/// <param name="MessagesSent">Messages written over all connections.</param>
/// <param name="SendErrors">Writes that failed (a full buffer or a reset).</param>
/// <param name="MaxSendGap">Longest time between two consecutive messages of one connection.</param>
/// <param name="HeldFor">How long the sending phase ran.</param>
/// <param name="ConnectErrors">A few connect errors, for diagnosis.</param>
public sealed record ConnectionHolderResult(
    int Requested,
    int Established,
    long MessagesSent,
    long SendErrors,
    TimeSpan MaxSendGap,
    TimeSpan HeldFor,
    IReadOnlyList<string> ConnectErrors);

/// <summary>
/// Opens exactly N TCP connections from one namespace to another and has each send a small message
/// (TCP_NODELAY, so one packet) every half <see cref="ConnectionHolderOptions.Period"/>, so every window of a
/// period sees every connection, e.g. for testing the sampler's active-connection estimate. One
/// dedicated thread sweeps all connections; <see cref="ConnectionHolderResult.MaxSendGap"/> says whether
/// it kept up.
/// </summary>
public sealed class ConnectionHolder : IAsyncDisposable
{
    private readonly ConnectionHolderOptions options;
    private readonly List<Socket> sockets;
    private readonly IReadOnlyList<string> connectErrors;
    private readonly CancellationTokenSource stop;
    private readonly TaskCompletionSource<ConnectionHolderResult> completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int disposed;

    private ConnectionHolder(ConnectionHolderOptions options, List<Socket> sockets, IReadOnlyList<string> connectErrors, CancellationToken cancellationToken)
    {
        this.options = options;
        this.sockets = sockets;
        this.connectErrors = connectErrors;
        stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        new Thread(SendLoop) { IsBackground = true, Name = "connection holder" }.Start();
    }

    /// <summary>Connections that completed the handshake and are being held.</summary>
    public int Established => sockets.Count;

    /// <summary>Completes when the holding phase ends (duration over, cancelled or disposed).</summary>
    public Task<ConnectionHolderResult> Completion => completion.Task;

    /// <summary>Opens the connections and starts sending; returns once the connect phase is over.</summary>
    public static async Task<ConnectionHolder> StartAsync(ConnectionHolderOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        Validate(options);

        var all = NetNs.Run(options.Namespace, () =>
        {
            var list = new Socket[options.Connections];
            try
            {
                for (var i = 0; i < list.Length; i++)
                {
                    list[i] = new Socket(options.Target.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                }
                return list;
            }
            catch
            {
                foreach (var s in list)
                {
                    s?.Dispose();
                }
                throw;
            }
        });

        var errors = new List<string>();
        var ok = new bool[all.Length];
        using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            deadline.CancelAfter(options.ConnectTimeout);
            try
            {
                await Parallel.ForAsync(0, all.Length, new ParallelOptions { MaxDegreeOfParallelism = options.ConnectParallelism, CancellationToken = deadline.Token }, async (i, ct) =>
                {
                    try
                    {
                        await all[i].ConnectAsync(options.Target, ct).ConfigureAwait(false);
                        ok[i] = true;
                    }
                    catch (SocketException e)
                    {
                        lock (errors)
                        {
                            if (errors.Count < 10)
                            {
                                errors.Add(e.Message);
                            }
                        }
                    }
                }).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                errors.Add($"connect phase timed out after {options.ConnectTimeout.TotalSeconds:0.#} s");
            }
            catch
            {
                foreach (var s in all)
                {
                    s.Dispose();
                }
                throw;
            }
        }

        var established = new List<Socket>(all.Length);
        for (var i = 0; i < all.Length; i++)
        {
            if (ok[i] && all[i].Connected)
            {
                // Non-blocking: a full send buffer costs a skipped message, not a stalled sweep.
                all[i].Blocking = false;
                established.Add(all[i]);
            }
            else
            {
                all[i].Dispose();
            }
        }
        return new ConnectionHolder(options, established, errors, cancellationToken);
    }

    /// <summary>Holds the connections for the duration and returns the result; closes them afterwards.</summary>
    public static async Task<ConnectionHolderResult> RunAsync(ConnectionHolderOptions options, CancellationToken cancellationToken = default)
    {
        var holder = await StartAsync(options, cancellationToken).ConfigureAwait(false);
        await using (holder.ConfigureAwait(false))
        {
            return await holder.Completion.ConfigureAwait(false);
        }
    }

    /// <summary>Stops sending (if still going) and closes every connection.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref disposed, 1) != 0)
        {
            return;
        }
        await stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await completion.Task.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Reported through Completion.
        }
        foreach (var s in sockets)
        {
            s.Dispose();
        }
        stop.Dispose();
    }

    private void SendLoop()
    {
        try
        {
            var message = new byte[options.MessageBytes];
            var sweep = options.Period / 2;
            var sweepTicks = (long)(sweep.TotalSeconds * Stopwatch.Frequency);
            var lastSend = new long[sockets.Count];
            long sent = 0, errors = 0, maxGap = 0;
            var started = Stopwatch.GetTimestamp();
            var end = started + (long)(options.Duration.TotalSeconds * Stopwatch.Frequency);
            var next = started;
            while (!stop.IsCancellationRequested)
            {
                var now = Stopwatch.GetTimestamp();
                if (now >= end)
                {
                    break;
                }
                if (now < next)
                {
                    PreciseSleep.For(next - now);
                    continue;
                }
                for (var i = 0; i < sockets.Count; i++)
                {
                    sockets[i].Send(message, 0, message.Length, SocketFlags.None, out var error);
                    var t = Stopwatch.GetTimestamp();
                    if (error == SocketError.Success)
                    {
                        sent++;
                        if (lastSend[i] != 0)
                        {
                            maxGap = Math.Max(maxGap, t - lastSend[i]);
                        }
                        lastSend[i] = t;
                    }
                    else
                    {
                        errors++;
                    }
                }
                next += sweepTicks;
            }
            completion.TrySetResult(new ConnectionHolderResult(
                options.Connections,
                sockets.Count,
                sent,
                errors,
                TimeSpan.FromSeconds((double)maxGap / Stopwatch.Frequency),
                Stopwatch.GetElapsedTime(started),
                connectErrors));
        }
        catch (Exception e)
        {
            completion.TrySetException(e);
        }
    }

    private static void Validate(ConnectionHolderOptions o)
    {
        if (o.Connections is < 1 or > 20_000)
        {
            throw new ArgumentOutOfRangeException(nameof(o), o.Connections, "Connections must be 1..20000.");
        }
        if (o.Period < TimeSpan.FromMilliseconds(2))
        {
            throw new ArgumentOutOfRangeException(nameof(o), o.Period, "Period must be at least 2 ms.");
        }
        if (o.Duration <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(o), o.Duration, "Duration must be positive.");
        }
        if (o.MessageBytes is < 1 or > 1400)
        {
            throw new ArgumentOutOfRangeException(nameof(o), o.MessageBytes, "MessageBytes must be 1..1400 (one packet).");
        }
        if (o.ConnectParallelism < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(o), o.ConnectParallelism, "ConnectParallelism must be positive.");
        }
        var needed = (ulong)o.Connections + 64;
        if (Libc.GetRLimit(Libc.RLIMIT_NOFILE, out var limit) == 0 && limit.Current < needed)
        {
            throw new ArgumentOutOfRangeException(nameof(o), o.Connections, $"Connections need about {needed} file descriptors; RLIMIT_NOFILE is {limit.Current} (raise it with ulimit -n).");
        }
    }
}
