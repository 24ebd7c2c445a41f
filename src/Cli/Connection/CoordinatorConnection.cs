using System.Net.Http;
using System.Net.Sockets;
using Grpc.Core;
using Grpc.Net.Client;
using Millisampler.Contracts.V1;

namespace Millisampler.Cli.Connection;

/// <summary>
/// A gRPC channel to the coordinator (cleartext HTTP/2 for http:// addresses) and the translation of its failures
/// into one-line <see cref="CliException"/>s: unreachable, or the coordinator's own status and detail.
/// </summary>
internal sealed class CoordinatorConnection : IDisposable
{
    // A dead address should fail in seconds, not after the OS's TCP timeout of minutes.
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(5);

    // Long waits (a queued capture) cross idle NAT and load-balancer timeouts; pings keep the stream alive and
    // notice a coordinator that vanished.
    private static readonly TimeSpan KeepAlivePingDelay = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan KeepAlivePingTimeout = TimeSpan.FromSeconds(20);

    private readonly GrpcChannel _channel;

    private CoordinatorConnection(Uri address)
    {
        Address = address;
        _channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                ConnectTimeout = ConnectTimeout,
                KeepAlivePingDelay = KeepAlivePingDelay,
                KeepAlivePingTimeout = KeepAlivePingTimeout,
                KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
                EnableMultipleHttp2Connections = true,
            },
            DisposeHttpClient = true,

            // GetCaptureSeries of a full rack (92 hosts × 2,000 bins × 12 series) is well above the 4 MB default.
            MaxReceiveMessageSize = null,

            // Ctrl-C surfaces as OperationCanceledException, told apart from a coordinator's CANCELLED status.
            ThrowOperationCanceledOnCancellation = true,
        });
        Client = new CoordinatorService.CoordinatorServiceClient(_channel);
        Sweeps = new SweepService.SweepServiceClient(_channel);
    }

    /// <summary>The coordinator's address as given.</summary>
    public Uri Address { get; }

    /// <summary>The generated client; wrap calls in <see cref="CallAsync{T}"/> so failures read well.</summary>
    public CoordinatorService.CoordinatorServiceClient Client { get; }

    /// <summary>The sweep service on the same channel; wrap calls in <see cref="CallSweepsAsync{T}"/>.</summary>
    public SweepService.SweepServiceClient Sweeps { get; }

    /// <summary>Runs one SweepService call; a gRPC failure becomes a <see cref="CliException"/>.</summary>
    public async Task<T> CallSweepsAsync<T>(Func<SweepService.SweepServiceClient, CancellationToken, Task<T>> call,
        CancellationToken cancellationToken)
    {
        try
        {
            return await call(Sweeps, cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e)
        {
            throw Translate(e);
        }
    }

    /// <summary>Opens a channel (lazily: nothing is sent before the first call).</summary>
    public static CoordinatorConnection Open(Uri address) => new(address);

    /// <summary>Runs one call; a gRPC failure becomes a <see cref="CliException"/> with a message a person can act on.</summary>
    public async Task<T> CallAsync<T>(Func<CoordinatorService.CoordinatorServiceClient, CancellationToken, Task<T>> call,
        CancellationToken cancellationToken)
    {
        try
        {
            return await call(Client, cancellationToken).ConfigureAwait(false);
        }
        catch (RpcException e)
        {
            throw Translate(e);
        }
    }

    /// <summary>
    /// Follows WatchCapture, calling <paramref name="onProgress"/> for each message, until the stream ends; returns the
    /// last message (null when the coordinator sent none).
    /// </summary>
    public async Task<CaptureProgress?> WatchAsync(string captureId, Func<CaptureProgress, Task> onProgress,
        CancellationToken cancellationToken)
    {
        try
        {
            using AsyncServerStreamingCall<CaptureProgress> call =
                Client.WatchCapture(new WatchCaptureRequest { CaptureId = captureId }, cancellationToken: cancellationToken);
            CaptureProgress? last = null;
            while (await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false))
            {
                last = call.ResponseStream.Current;
                await onProgress(last).ConfigureAwait(false);
            }

            return last;
        }
        catch (RpcException e)
        {
            throw Translate(e);
        }
    }

    /// <summary>The one-line failure for a gRPC error.</summary>
    public CliException Translate(RpcException e)
    {
        if (IsTransportFailure(e))
        {
            string reason = TransportReason(e);
            if (reason.Contains("HTTP_1_1_REQUIRED", StringComparison.Ordinal))
            {
                // The coordinator's JSON port answers like this; the gRPC port is the other one.
                reason += "; that port speaks HTTP/1.1 only (the JSON API?), --coordinator needs the gRPC port";
            }

            return new CliException($"cannot reach the coordinator at {Address.OriginalString}: {reason}");
        }

        string detail = string.IsNullOrWhiteSpace(e.Status.Detail) ? "(no detail)" : e.Status.Detail;
        string hint = e.StatusCode == StatusCode.ResourceExhausted && detail.Contains("busy", StringComparison.OrdinalIgnoreCase)
            ? " (capture --queue waits behind it)"
            : "";
        return new CliException($"{e.StatusCode}: {detail}{hint}");
    }

    public void Dispose() => _channel.Dispose();

    // The client raises UNAVAILABLE/INTERNAL itself when the HTTP request fails; the coordinator's own UNAVAILABLE
    // carries no local exception.
    private static bool IsTransportFailure(RpcException e) =>
        e.StatusCode is StatusCode.Unavailable or StatusCode.Internal or StatusCode.DeadlineExceeded
        && e.Status.DebugException is HttpRequestException or SocketException or IOException or TimeoutException
            or OperationCanceledException;

    private static string TransportReason(RpcException e)
    {
        Exception? x = e.Status.DebugException;
        if (x is OperationCanceledException or TimeoutException)
        {
            return $"no connection within {ConnectTimeout.TotalSeconds:0} s";
        }

        // HttpRequestException names the endpoint ("Connection refused (127.0.0.1:7400)"); prefer its words.
        for (Exception? i = x; i is not null; i = i.InnerException)
        {
            if (i is HttpRequestException h && !string.IsNullOrWhiteSpace(h.Message))
            {
                return h.Message;
            }
        }

        while (x?.InnerException is not null)
        {
            x = x.InnerException;
        }

        return x?.Message ?? e.Status.Detail;
    }
}
