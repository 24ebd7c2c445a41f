using System.Net;
using System.Net.Sockets;

namespace Millisampler.Agent.Bpf;

/// <summary>A prefix whose peers are always in-region or always cross-region.</summary>
public sealed record RegionPrefix(IPAddress Network, int PrefixLength, bool CrossRegion)
{
    /// <summary>Parses "198.18.0.0/16=remote" or "2001:db8::/32=local".</summary>
    public static RegionPrefix Parse(string text)
    {
        var parts = text.Split('=', 2, StringSplitOptions.TrimEntries);
        if (parts.Length != 2 || parts[1] is not ("remote" or "local"))
        {
            throw new FormatException($"'{text}': a region prefix is CIDR=remote or CIDR=local.");
        }

        var cidr = parts[0].Split('/', 2);
        if (!IPAddress.TryParse(cidr[0], out var address) || cidr.Length != 2 || !int.TryParse(cidr[1], out int length))
        {
            throw new FormatException($"'{text}': '{parts[0]}' is not an address/length prefix.");
        }

        int max = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        if (length < 0 || length > max)
        {
            throw new FormatException($"'{text}': prefix length must be 0..{max}.");
        }

        return new RegionPrefix(address, length, parts[1] == "remote");
    }
}
