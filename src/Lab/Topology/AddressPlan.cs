using System.Globalization;
using System.Net;

namespace Millisampler.Lab;

/// <summary>
/// Fixed addresses of a lab rack. IPv4 only from 198.18.0.0/15 (set aside for benchmarking), IPv6
/// only from the ULA prefix fd4d:5300::/32 chosen for this project.
/// <list type="bullet">
/// <item>Rack subnet 198.18.0.0/24: router (gateway) .1, host i (1-based) .(10+i). IPv6 fd4d:5300::/64, gateway ::1, host i ::(10+i).</item>
/// <item>Sender j (1-based, outside the rack) on its own link 198.19.j.0/24: router .1, sender .2. IPv6 fd4d:5300:1:j::/64.</item>
/// <item>198.18.200.0/21 and fd4d:5300:ff00::/40 are free for ad-hoc links in tests.</item>
/// </list>
/// IPv6 group numbers are written with the same decimal digits as the IPv4 octets (host 11 is ::11).
/// </summary>
public static class AddressPlan
{
    /// <summary>The IPv6 ULA prefix all lab IPv6 addresses come from.</summary>
    public const string Ipv6UlaPrefix = "fd4d:5300::/32";

    /// <summary>Most hosts a rack may have.</summary>
    public const int MaxHosts = 200;

    /// <summary>Most senders outside the rack.</summary>
    public const int MaxSenders = 250;

    /// <summary>The rack subnet, 198.18.0.0/24.</summary>
    public const string RackSubnet = "198.18.0.0/24";

    /// <summary>The rack IPv6 subnet, fd4d:5300::/64.</summary>
    public const string RackSubnet6 = "fd4d:5300::/64";

    /// <summary>The rack's gateway: the router's address on the ToR bridge.</summary>
    public static IPAddress RackGateway { get; } = IPAddress.Parse("198.18.0.1");

    /// <summary>The rack's IPv6 gateway.</summary>
    public static IPAddress RackGateway6 { get; } = IPAddress.Parse("fd4d:5300::1");

    /// <summary>Address of rack host <paramref name="index"/> (1-based).</summary>
    public static IPAddress Host(int index) => IPAddress.Parse(Inv($"198.18.0.{10 + CheckHost(index)}"));

    /// <summary>IPv6 address of rack host <paramref name="index"/> (1-based).</summary>
    public static IPAddress Host6(int index) => IPAddress.Parse(Inv($"fd4d:5300::{10 + CheckHost(index)}"));

    /// <summary>Address of sender <paramref name="index"/> (1-based).</summary>
    public static IPAddress Sender(int index) => IPAddress.Parse(Inv($"198.19.{CheckSender(index)}.2"));

    /// <summary>IPv6 address of sender <paramref name="index"/> (1-based).</summary>
    public static IPAddress Sender6(int index) => IPAddress.Parse(Inv($"fd4d:5300:1:{CheckSender(index)}::2"));

    /// <summary>The router's address on sender <paramref name="index"/>'s link.</summary>
    public static IPAddress SenderGateway(int index) => IPAddress.Parse(Inv($"198.19.{CheckSender(index)}.1"));

    /// <summary>The router's IPv6 address on sender <paramref name="index"/>'s link.</summary>
    public static IPAddress SenderGateway6(int index) => IPAddress.Parse(Inv($"fd4d:5300:1:{CheckSender(index)}::1"));

    /// <summary>Sender <paramref name="index"/>'s link subnet, 198.19.j.0/24.</summary>
    public static string SenderSubnet(int index) => Inv($"198.19.{CheckSender(index)}.0/24");

    /// <summary>Sender <paramref name="index"/>'s IPv6 link subnet, fd4d:5300:1:j::/64.</summary>
    public static string SenderSubnet6(int index) => Inv($"fd4d:5300:1:{CheckSender(index)}::/64");

    private static int CheckHost(int index) => index is >= 1 and <= MaxHosts
        ? index
        : throw new ArgumentOutOfRangeException(nameof(index), index, $"Host index must be 1..{MaxHosts}.");

    private static int CheckSender(int index) => index is >= 1 and <= MaxSenders
        ? index
        : throw new ArgumentOutOfRangeException(nameof(index), index, $"Sender index must be 1..{MaxSenders}.");

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
