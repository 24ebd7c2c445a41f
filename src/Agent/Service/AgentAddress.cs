using System.Globalization;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Millisampler.Agent.Service;

/// <summary>The address the coordinator dials to reach this agent: configured, or the host name and the port the server bound.</summary>
internal sealed class AgentAddress(IOptions<AgentOptions> options, IServer? server = null)
{
    /// <summary>
    /// <see cref="AgentOptions.AdvertisedAddress"/> when set; otherwise <see cref="AgentOptions.Host"/>:port of the first
    /// bound address (or the bound IP when it is a specific one). Empty before the server has started.
    /// </summary>
    public string Resolve()
    {
        var o = options.Value;
        if (!string.IsNullOrWhiteSpace(o.AdvertisedAddress))
        {
            return o.AdvertisedAddress;
        }

        var bound = server?.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        if (bound is null)
        {
            return "";
        }

        var address = BindingAddress.Parse(bound);
        string port = address.Port.ToString(CultureInfo.InvariantCulture);
        bool wildcard = address.Host is "*" or "+" or "0.0.0.0" or "[::]" or "::";
        return wildcard ? $"{o.Host}:{port}" : $"{address.Host}:{port}";
    }
}
