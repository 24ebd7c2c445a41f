using System.Collections.Concurrent;
using Grpc.Net.Client;
using Millisampler.Contracts.V1;

namespace Millisampler.Coordinator.Agents;

/// <summary>
/// One gRPC channel per agent address, kept open: a capture's ScheduleRun must not pay for TCP and HTTP/2
/// set-up inside its lead time, and the RTT probe keeps the connection warm.
/// </summary>
internal sealed class AgentClientPool : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<(GrpcChannel Channel, AgentService.AgentServiceClient Client)>> _channels =
        new(StringComparer.Ordinal);

    /// <summary>The client for the agent at <paramref name="address"/> ("host:port" or an http:// URL).</summary>
    public AgentService.AgentServiceClient Get(string address) =>
        _channels.GetOrAdd(address, static a => new(() => Create(a))).Value.Client;

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

    private static (GrpcChannel, AgentService.AgentServiceClient) Create(string address)
    {
        Uri uri = ToUri(address) ?? throw new ArgumentException($"Agent address '{address}' is not host:port.", nameof(address));
        var channel = GrpcChannel.ForAddress(uri, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                EnableMultipleHttp2Connections = true,
                ConnectTimeout = TimeSpan.FromSeconds(2),
                PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan,
                KeepAlivePingDelay = TimeSpan.FromSeconds(30),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            },
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
