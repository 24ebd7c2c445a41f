using System.Collections.Concurrent;
using Grpc.Net.Client;
using Microsoft.Extensions.Options;
using Millisampler.Contracts.V1;
using Millisampler.ServiceDefaults.Security;

namespace Millisampler.Coordinator.Agents;

/// <summary>
/// One gRPC channel per agent address, kept open: a capture's ScheduleRun must not pay for TCP and HTTP/2
/// set-up inside its lead time, and the RTT probe keeps the connection warm.
/// In secure mode every channel is mutual TLS: the coordinator presents its certificate (the current one, so a
/// rotation is used by new connections) and talks to an agent only when the agent's certificate chains to the CA,
/// is an agent's, and names the host the channel is for: a host registered at another host's address is refused.
/// </summary>
internal sealed class AgentClientPool : IDisposable
{
    private readonly ConcurrentDictionary<(string Host, string Address), Lazy<(GrpcChannel Channel, AgentService.AgentServiceClient Client)>> _channels = new();
    private readonly bool _insecure;
    private readonly TlsCertificates? _certificates;

    public AgentClientPool(IOptions<SecurityOptions> security, IServiceProvider services)
    {
        _insecure = security.Value.Insecure;
        _certificates = _insecure ? null : services.GetRequiredService<TlsCertificates>();
    }

    /// <summary>The client for agent <paramref name="host"/> at <paramref name="address"/> ("host:port" or a URL).</summary>
    public AgentService.AgentServiceClient Get(string host, string address) =>
        _channels.GetOrAdd((host, address), key => new(() => Create(key.Host, key.Address))).Value.Client;

    /// <summary>
    /// The URI the coordinator dials for a registered address, or null when it is not usable.
    /// Agents speak gRPC over cleartext HTTP/2 (h2c) unless they register an https:// URL.
    /// </summary>
    public static Uri? ToUri(string address)
    {
        if (string.IsNullOrWhiteSpace(address))
        {
            return null;
        }

        bool hasScheme = address.Contains("://", StringComparison.Ordinal);
        if (!Uri.TryCreate(hasScheme ? address : "http://" + address, UriKind.Absolute, out Uri? uri))
        {
            return null;
        }

        // "host" alone would parse with port 80; an agent address must name its port.
        if (!hasScheme && !address.EndsWith(":" + uri.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal))
        {
            return null;
        }

        return uri.Scheme is "http" or "https" && uri.AbsolutePath == "/" ? uri : null;
    }

    private (GrpcChannel, AgentService.AgentServiceClient) Create(string host, string address)
    {
        Uri uri = ToUri(address) ?? throw new ArgumentException($"Agent address '{address}' is not host:port.", nameof(address));
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = TimeSpan.FromSeconds(2),
            PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
            KeepAlivePingDelay = TimeSpan.FromSeconds(30),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
        };
        if (!_insecure)
        {
            uri = new UriBuilder(uri) { Scheme = Uri.UriSchemeHttps }.Uri;
            handler.UseMutualTls(_certificates!, peer =>
                MutualTls.RequireRole(Roles.Agent)(peer)
                ?? (CertificateIdentity.Names(peer, host) ? null : $"the agent at {address} is not {host}"));
        }

        var channel = GrpcChannel.ForAddress(uri, new GrpcChannelOptions
        {
            HttpHandler = handler,
            // A run of 2,000 bins is a few hundred kB; leave room for wider series.
            MaxReceiveMessageSize = 64 * 1024 * 1024,
        });
        return (channel, new AgentService.AgentServiceClient(channel));
    }

    public void Dispose()
    {
        foreach (var entry in _channels.Values)
        {
            if (entry.IsValueCreated)
            {
                entry.Value.Channel.Dispose();
            }
        }

        _channels.Clear();
    }
}
