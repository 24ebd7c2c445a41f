using System.Diagnostics;
using System.Globalization;
using System.Net;

namespace Millisampler.Lab;

/// <summary>A host in the rack: its own namespace, uplink <see cref="Interface"/> into a ToR bridge port.</summary>
/// <param name="Index">1-based host number.</param>
/// <param name="Namespace">The host's namespace.</param>
/// <param name="Interface">The host's uplink inside its namespace ("eth0").</param>
/// <param name="Address">IPv4 address on the rack subnet.</param>
/// <param name="TorPort">The ToR bridge port (in the ToR namespace) facing this host; its egress carries the host's ingress traffic and its bottleneck.</param>
public sealed record RackHost(int Index, string Namespace, string Interface, IPAddress Address, string TorPort);

/// <summary>A sender outside the rack: its own namespace, linked to the router namespace.</summary>
/// <param name="Index">1-based sender number.</param>
/// <param name="Namespace">The sender's namespace.</param>
/// <param name="Interface">The sender's interface inside its namespace ("eth0").</param>
/// <param name="Address">IPv4 address on the sender's own link.</param>
/// <param name="RouterPort">The router's interface (in the router namespace) facing this sender.</param>
public sealed record RackSender(int Index, string Namespace, string Interface, IPAddress Address, string RouterPort);

/// <summary>
/// Builds a rack: N hosts on a ToR (a Linux bridge in its own namespace, one port per host, each host's
/// uplink a veth into it), a router namespace on the bridge as the rack's gateway, and K senders
/// outside the rack, each in its own namespace with a veth to the router. Traffic from many senders to
/// one host meets in that host's ToR port, where a tbf bottleneck (default <see cref="TbfOptions.Gigabit"/>)
/// stands in for the switch buffer. Addresses follow <see cref="AddressPlan"/> (IPv4 only); IPv6 is
/// disabled in every namespace, so no neighbour discovery or MLD traffic shows in the counters.
/// </summary>
public sealed class RackTopology
{
    /// <summary>Name of each host's and sender's interface.</summary>
    public const string EndpointInterface = "eth0";

    /// <summary>The ToR bridge.</summary>
    public const string Bridge = "br0";

    /// <summary>ToR bridge port toward the router.</summary>
    public const string TorUplink = "up0";

    /// <summary>Router interface on the rack bridge.</summary>
    public const string RouterRackInterface = "rack0";

    private readonly List<KeyValuePair<string, string>> endpointSysctls = [];
    private int hosts = 3;
    private int senders;
    private string prefix = LabNames.DefaultPrefix;
    private TbfOptions? torShaping = TbfOptions.Gigabit;

    /// <summary>A builder for a 3-host rack with no senders, ToR ports shaped at 1 Gbit/s.</summary>
    public static RackTopology Create() => new();

    /// <summary>Number of hosts, 1..<see cref="AddressPlan.MaxHosts"/>.</summary>
    public RackTopology WithHosts(int count)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, AddressPlan.MaxHosts);
        hosts = count;
        return this;
    }

    /// <summary>Number of senders outside the rack, 0..<see cref="AddressPlan.MaxSenders"/>.</summary>
    public RackTopology WithSenders(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, AddressPlan.MaxSenders);
        senders = count;
        return this;
    }

    /// <summary>The bottleneck on every ToR port toward a host; null for none (veth speed).</summary>
    public RackTopology WithTorShaping(TbfOptions? tbf)
    {
        tbf?.Validate();
        torShaping = tbf;
        return this;
    }

    /// <summary>A sysctl set in every host and sender namespace, e.g. ("net.ipv4.tcp_ecn", "1").</summary>
    public RackTopology WithSysctl(string key, string value)
    {
        endpointSysctls.Add(new(key, value));
        return this;
    }

    /// <summary>Namespace name prefix (must start with "ms-").</summary>
    public RackTopology WithPrefix(string namePrefix)
    {
        LabNames.ValidatePrefix(namePrefix);
        prefix = namePrefix;
        return this;
    }

    /// <summary>Creates the rack. On failure everything created so far is removed before the exception propagates.</summary>
    public async Task<Rack> BuildAsync(CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        var lab = NetworkLab.Create(prefix);
        try
        {
            var hostRoles = Enumerable.Range(1, hosts).Select(i => Inv($"h{i}")).ToList();
            var senderRoles = Enumerable.Range(1, senders).Select(j => Inv($"s{j}")).ToList();
            var all = await lab.AddNamespacesAsync(["tor", "rtr", .. hostRoles, .. senderRoles], loopbackUp: false, cancellationToken).ConfigureAwait(false);
            var tor = all[0];
            var rtr = all[1];
            var hostNs = all.Skip(2).Take(hosts).ToList();
            var senderNs = all.Skip(2 + hosts).ToList();

            // Sysctls first: disable_ipv6 must hold before the interfaces appear.
            KeyValuePair<string, string>[] v6Off = [new("net.ipv6.conf.all.disable_ipv6", "1"), new("net.ipv6.conf.default.disable_ipv6", "1")];
            lab.SetSysctls(tor, v6Off);
            lab.SetSysctls(rtr, [
                .. v6Off,
                new("net.ipv4.ip_forward", "1"),
                new("net.ipv4.conf.all.rp_filter", "0"),
                new("net.ipv4.conf.default.rp_filter", "0")]);
            foreach (var ns in hostNs.Concat(senderNs))
            {
                lab.SetSysctls(ns, [.. v6Off, .. endpointSysctls]);
            }

            // The ToR creates every host veth (peer end straight into the host namespace) and its uplink.
            var torLines = new List<string> { "link set lo up", NetworkLab.BridgeAddLine(Bridge) };
            for (var i = 1; i <= hosts; i++)
            {
                torLines.Add(Inv($"link add p{i} type veth peer name {EndpointInterface} netns {hostNs[i - 1]}"));
            }
            torLines.Add($"link add {TorUplink} type veth peer name {RouterRackInterface} netns {rtr}");
            for (var i = 1; i <= hosts; i++)
            {
                torLines.Add(Inv($"link set p{i} master {Bridge} up"));
            }
            torLines.Add($"link set {TorUplink} master {Bridge} up");
            torLines.Add($"link set {Bridge} up");
            await lab.IpBatchAsync(tor, torLines, cancellationToken).ConfigureAwait(false);

            var rtrLines = new List<string> { "link set lo up" };
            for (var j = 1; j <= senders; j++)
            {
                rtrLines.Add(Inv($"link add s{j} type veth peer name {EndpointInterface} netns {senderNs[j - 1]}"));
            }
            rtrLines.Add(NetworkLab.AddressAddLine(RouterRackInterface, $"{AddressPlan.RackGateway}/24"));
            rtrLines.Add($"link set {RouterRackInterface} up");
            for (var j = 1; j <= senders; j++)
            {
                rtrLines.Add(NetworkLab.AddressAddLine(Inv($"s{j}"), $"{AddressPlan.SenderGateway(j)}/24"));
                rtrLines.Add(Inv($"link set s{j} up"));
            }
            await lab.IpBatchAsync(rtr, rtrLines, cancellationToken).ConfigureAwait(false);

            var rackHosts = Enumerable.Range(1, hosts)
                .Select(i => new RackHost(i, hostNs[i - 1], EndpointInterface, AddressPlan.Host(i), Inv($"p{i}")))
                .ToList();
            var rackSenders = Enumerable.Range(1, senders)
                .Select(j => new RackSender(j, senderNs[j - 1], EndpointInterface, AddressPlan.Sender(j), Inv($"s{j}")))
                .ToList();

            var jobs = new List<Func<Task>>();
            foreach (var h in rackHosts)
            {
                jobs.Add(() => lab.IpBatchAsync(h.Namespace, EndpointLines(h.Address, 24, AddressPlan.RackGateway), cancellationToken));
            }
            foreach (var s in rackSenders)
            {
                jobs.Add(() => lab.IpBatchAsync(s.Namespace, EndpointLines(s.Address, 24, AddressPlan.SenderGateway(s.Index)), cancellationToken));
            }
            if (torShaping is { } tbf)
            {
                jobs.Add(() => lab.TcBatchAsync(tor, rackHosts.Select(h => NetworkLab.TbfLine(h.TorPort, tbf)), cancellationToken));
            }
            await NetworkLab.ForEachLimitedAsync(jobs, job => job()).ConfigureAwait(false);

            return new Rack(lab, tor, rtr, rackHosts, rackSenders, torShaping, Stopwatch.GetElapsedTime(started));
        }
        catch
        {
            await lab.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private static List<string> EndpointLines(IPAddress address, int prefixLength, IPAddress gateway) =>
    [
        "link set lo up",
        NetworkLab.AddressAddLine(EndpointInterface, $"{address}/{prefixLength}"),
        $"link set {EndpointInterface} up",
        $"route add default via {gateway}",
    ];

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
