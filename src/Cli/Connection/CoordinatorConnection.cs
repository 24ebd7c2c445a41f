using System.Net.Http;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using Millisampler.Contracts.V1;

namespace Millisampler.Cli.Connection;

/// <summary>
/// A gRPC channel to the coordinator (TLS for https:// addresses, presenting the <see cref="ClientCredentials"/>;
/// cleartext HTTP/2 for http://) and the translation of its failures into one-line <see cref="CliException"/>s:
/// unreachable, a certificate not trusted, not authenticated, or the coordinator's own status and detail.
/// </summary>
internal sealed class CoordinatorConnection : IDisposable
{
    // A dead address should fail in seconds, not after the OS's TCP timeout of minutes; the TLS handshake counts too,
    // and a loaded machine can take seconds for it.
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);

    // Long waits (a queued capture) cross idle NAT and load-balancer timeouts; pings keep the stream alive and
    // notice a coordinator that vanished.
    private static readonly TimeSpan KeepAlivePingDelay = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan KeepAlivePingTimeout = TimeSpan.FromSeconds(20);

    private readonly GrpcChannel _channel;
    private readonly ClientCredentials _credentials;

    // Why this side refused the coordinator's certificate, for the error message (the exception only says "rejected").
    private volatile string? _serverRefused;

    private CoordinatorConnection(Uri address, ClientCredentials credentials)
    {
        Address = address;
        _credentials = credentials;
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = ConnectTimeout,
            KeepAlivePingDelay = KeepAlivePingDelay,
            KeepAlivePingTimeout = KeepAlivePingTimeout,
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            EnableMultipleHttp2Connections = true,
        };
        ChannelCredentials? channelCredentials = null;
        if (address.Scheme == Uri.UriSchemeHttps)
        {
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                LocalCertificateSelectionCallback = credentials.Certificate is null ? null : (_, _, _, _, _) => credentials.Certificate,
                RemoteCertificateValidationCallback = (_, certificate, chain, errors) => CheckServer(certificate, chain, errors),
            };
            if (credentials.Token is { } token)
            {
                channelCredentials = ChannelCredentials.Create(ChannelCredentials.SecureSsl, CallCredentials.FromInterceptor((_, metadata) =>
                {
                    metadata.Add("Authorization", "Bearer " + token);
                    return Task.CompletedTask;
                }));
            }
        }

        _channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = handler,
            Credentials = channelCredentials,
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
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Not the caller's Ctrl-C: the connect timeout fired (ThrowOperationCanceledOnCancellation surfaces it so).
            throw Unreachable();
        }
    }

    /// <summary>Opens a channel (lazily: nothing is sent before the first call); it owns <paramref name="credentials"/>.</summary>
    public static CoordinatorConnection Open(Uri address, ClientCredentials? credentials = null) => new(address, credentials ?? ClientCredentials.None);

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
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Not the caller's Ctrl-C: the connect timeout fired (ThrowOperationCanceledOnCancellation surfaces it so).
            throw Unreachable();
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
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // Not the caller's Ctrl-C: the connect timeout fired (ThrowOperationCanceledOnCancellation surfaces it so).
            throw Unreachable();
        }
    }

    private CliException Unreachable() =>
        new($"cannot reach the coordinator at {Address.OriginalString}: no connection within {ConnectTimeout.TotalSeconds:0} s");

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

        if (e.StatusCode == StatusCode.Unauthenticated)
        {
            // The framework answers HTTP 401 without a gRPC status; its detail ("Bad gRPC response. HTTP status code: 401") helps nobody.
            return new CliException(_credentials.Presents
                ? "UNAUTHENTICATED: the coordinator did not accept the credentials given (a certificate from a CA it trusts, or a valid, unexpired token)"
                : $"UNAUTHENTICATED: the coordinator requires credentials: --cert and --key (or ${CliEnvironment.CertificateVariable}/${CliEnvironment.KeyVariable}), or --token-file (${CliEnvironment.TokenFileVariable})");
        }

        string detail = string.IsNullOrWhiteSpace(e.Status.Detail) ? "(no detail)" : e.Status.Detail;
        string hint = e.StatusCode == StatusCode.ResourceExhausted && detail.Contains("busy", StringComparison.OrdinalIgnoreCase)
            ? " (capture --queue waits behind it)"
            : "";
        return new CliException($"{e.StatusCode}: {detail}{hint}");
    }

    public void Dispose()
    {
        _channel.Dispose();
        _credentials.Dispose();
    }

    private bool CheckServer(X509Certificate? certificate, X509Chain? presented, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
        {
            _serverRefused = "the coordinator presented no certificate";
            return false;
        }

        using var peer = new X509Certificate2(certificate);
        string name = peer.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
        if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            _serverRefused = $"the coordinator's certificate '{name}' does not name {Address.Host}";
            return false;
        }

        if (_credentials.Authorities is null)
        {
            if (errors == SslPolicyErrors.None)
            {
                return true;
            }

            _serverRefused = $"the coordinator's certificate '{name}' is not trusted by this machine; name its CA with --ca (${CliEnvironment.CaVariable})";
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_credentials.Authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.1"));
        if (presented is not null)
        {
            foreach (X509ChainElement element in presented.ChainElements)
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        if (chain.Build(peer))
        {
            return true;
        }

        string why = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct());
        _serverRefused = $"the coordinator's certificate '{name}' does not chain to {_credentials.AuthoritiesSource}" + (why.Length > 0 ? $" ({why})" : "");
        return false;
    }

    // The client raises UNAVAILABLE/INTERNAL itself when the HTTP request fails; the coordinator's own UNAVAILABLE
    // carries no local exception.
    private static bool IsTransportFailure(RpcException e) =>
        e.StatusCode is StatusCode.Unavailable or StatusCode.Internal or StatusCode.DeadlineExceeded
        && e.Status.DebugException is HttpRequestException or SocketException or IOException or TimeoutException
            or OperationCanceledException;

    private string TransportReason(RpcException e)
    {
        Exception? x = e.Status.DebugException;
        if (x is OperationCanceledException or TimeoutException)
        {
            return $"no connection within {ConnectTimeout.TotalSeconds:0} s";
        }

        bool tls = false;
        for (Exception? i = x; i is not null; i = i.InnerException)
        {
            tls |= i is AuthenticationException;
        }

        if (tls && _serverRefused is { } refused)
        {
            return refused;
        }

        if (!tls && _credentials.Certificate is not null && Address.Scheme == Uri.UriSchemeHttps
            && x is HttpRequestException { HttpRequestError: not (HttpRequestError.NameResolutionError or HttpRequestError.ConnectionError) }
            && x.InnerException is IOException)
        {
            // TLS 1.3: the server judges the client's certificate after the client's side of the handshake is done, so
            // its refusal arrives as a connection closed (or reset, under load) before HTTP/2 began.
            tls = true;
        }

        if (tls)
        {
            return _credentials.Certificate is null
                ? "the TLS handshake failed; does the coordinator speak TLS (an http:// coordinator in insecure mode does not)?"
                : "the coordinator refused the TLS handshake: is the certificate given with --cert issued by a CA it trusts, and not expired?";
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
