using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Millisampler.ServiceDefaults;

/// <summary>Binds Kestrel endpoints from http://host:port URLs, each with its own protocols (h2c for gRPC, HTTP/1.1 for scrapers and probes).</summary>
public static class KestrelListen
{
    /// <summary>
    /// Listens on every URL of <paramref name="urls"/> (';'-separated) with <paramref name="protocols"/>; the host
    /// is an IP address, <c>localhost</c>, or <c>*</c>/<c>+</c> for every address. Returns the endpoints, in order.
    /// Callers validate the URLs first; an unusable one throws <see cref="FormatException"/>.
    /// </summary>
    public static IReadOnlyList<ListenOptions> Listen(KestrelServerOptions kestrel, string urls, HttpProtocols protocols)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        ArgumentNullException.ThrowIfNull(urls);
        var bound = new List<ListenOptions>();
        foreach (string url in urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            BindingAddress address = BindingAddress.Parse(url);
            void Set(ListenOptions l)
            {
                l.Protocols = protocols;
                bound.Add(l);
            }

            Bind(kestrel, address, Set);
        }

        return bound;
    }

    /// <summary>Binds one address: <c>*</c> and <c>+</c> every address, <c>localhost</c> both loopbacks, else the IP.</summary>
    public static void Bind(KestrelServerOptions kestrel, BindingAddress address, Action<ListenOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        ArgumentNullException.ThrowIfNull(address);
        switch (address.Host)
        {
            case "*" or "+":
                kestrel.ListenAnyIP(address.Port, configure);
                break;
            case "localhost":
                kestrel.ListenLocalhost(address.Port, configure);
                break;
            default:
                kestrel.Listen(IPAddress.Parse(address.Host.Trim('[', ']')), address.Port, configure);
                break;
        }
    }
}
