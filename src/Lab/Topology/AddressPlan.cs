using System.Globalization;
using System.Net;

namespace Millisampler.Lab;

/// <summary>
/// Fixed addresses of a lab rack. The lab assigns IPv4 addresses only, and only from 198.18.0.0/15
/// (set aside for benchmarking), the one range test addresses may come from. It assigns no IPv6
/// addresses: racks run with IPv6 disabled, and tests that need IPv6 use only the link-local
/// addresses the kernel gives an interface.
/// <list type="bullet">
/// <item>Rack subnet 198.18.0.0/24: router (gateway) .1, host i (1-based) .(10+i).</item>
/// <item>Sender j (1-based, outside the rack) on its own link 198.19.j.0/24: router .1, sender .2.</item>
/// <item>198.18.200.0/21 is free for ad-hoc links in tests.</item>
/// </list>
/// </summary>
public static class AddressPlan
{
    /// <summary>The only range lab addresses come from, 198.18.0.0/15.</summary>
    public const string Range = "198.18.0.0/15";

    /// <summary>Most hosts a rack may have.</summary>
    public const int MaxHosts = 200;

    /// <summary>Most senders outside the rack.</summary>
    public const int MaxSenders = 250;

    /// <summary>The rack subnet, 198.18.0.0/24.</summary>
    public const string RackSubnet = "198.18.0.0/24";

    /// <summary>The rack's gateway: the router's address on the ToR bridge.</summary>
    public static IPAddress RackGateway { get; } = IPAddress.Parse("198.18.0.1");

    /// <summary>Address of rack host <paramref name="index"/> (1-based).</summary>
    public static IPAddress Host(int index) => IPAddress.Parse(Inv($"198.18.0.{10 + CheckHost(index)}"));

    /// <summary>Address of sender <paramref name="index"/> (1-based).</summary>
    public static IPAddress Sender(int index) => IPAddress.Parse(Inv($"198.19.{CheckSender(index)}.2"));

    /// <summary>The router's address on sender <paramref name="index"/>'s link.</summary>
    public static IPAddress SenderGateway(int index) => IPAddress.Parse(Inv($"198.19.{CheckSender(index)}.1"));

    /// <summary>Sender <paramref name="index"/>'s link subnet, 198.19.j.0/24.</summary>
    public static string SenderSubnet(int index) => Inv($"198.19.{CheckSender(index)}.0/24");

    private static int CheckHost(int index) => index is >= 1 and <= MaxHosts
        ? index
        : throw new ArgumentOutOfRangeException(nameof(index), index, $"Host index must be 1..{MaxHosts}.");

    private static int CheckSender(int index) => index is >= 1 and <= MaxSenders
        ? index
        : throw new ArgumentOutOfRangeException(nameof(index), index, $"Sender index must be 1..{MaxSenders}.");

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
