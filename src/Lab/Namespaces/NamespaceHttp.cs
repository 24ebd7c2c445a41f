using System.Net.Sockets;

namespace Millisampler.Lab;

/// <summary>An HttpClient whose connections start inside a network namespace (its sockets are created there).</summary>
public static class NamespaceHttp
{
    /// <summary>A client that reaches addresses as seen from inside <paramref name="ns"/> (its routes, its loopback).</summary>
    public static HttpClient Create(string ns, TimeSpan timeout)
    {
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = NetNs.Run(ns, () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true });
                try
                {
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken).ConfigureAwait(false);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return new HttpClient(handler) { Timeout = timeout };
    }
}
