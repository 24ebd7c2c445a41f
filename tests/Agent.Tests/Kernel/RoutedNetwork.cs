using System.Net;
using Millisampler.Lab;

namespace Millisampler.Agent.Tests.Kernel;

/// <summary>
/// Leaf hosts around one router namespace: leaf i has eth0 = 198.18.i.1/24, the router's port
/// toward it is p{i} = 198.18.i.254. Loss, delay and marking go on the router, between the hosts'
/// own tc hooks.
/// </summary>
internal sealed class RoutedNetwork : IAsyncDisposable
{
    private RoutedNetwork(NetworkLab lab, string router, IReadOnlyList<string> leaves)
    {
        Lab = lab;
        Router = router;
        Leaves = leaves;
    }

    public NetworkLab Lab { get; }
    public string Router { get; }
    public IReadOnlyList<string> Leaves { get; }
    public const string If = "eth0";

    public static IPAddress Address(int leaf) => IPAddress.Parse($"198.18.{leaf + 1}.1");

    public static string RouterPort(int leaf) => $"p{leaf}";

    public static async Task<RoutedNetwork> CreateAsync(int leaves, bool offloads = true, string prefix = LabNames.DefaultPrefix)
    {
        var lab = NetworkLab.Create(prefix);
        try
        {
            var roles = new List<string> { "r" };
            roles.AddRange(Enumerable.Range(0, leaves).Select(i => $"h{i}"));
            var names = await lab.AddNamespacesAsync(roles);
            foreach (var ns in names)
            {
                lab.SetSysctl(ns, "net.ipv6.conf.all.disable_ipv6", "1");
                lab.SetSysctl(ns, "net.ipv6.conf.default.disable_ipv6", "1");
            }
            lab.SetSysctl(names[0], "net.ipv4.ip_forward", "1");
            for (int i = 0; i < leaves; i++)
            {
                string leaf = names[i + 1];
                await lab.AddVethAsync(leaf, If, names[0], RouterPort(i));
                await lab.AddAddressAsync(leaf, If, $"198.18.{i + 1}.1/24");
                await lab.AddAddressAsync(names[0], RouterPort(i), $"198.18.{i + 1}.254/24");
                await lab.AddRouteAsync(leaf, "198.18.0.0/15", via: $"198.18.{i + 1}.254");
                if (!offloads)
                {
                    var off = new Dictionary<string, bool> { ["tso"] = false, ["gso"] = false, ["gro"] = false, ["tx-udp-segmentation"] = false };
                    await lab.SetOffloadsAsync(leaf, If, off);
                    await lab.SetOffloadsAsync(names[0], RouterPort(i), off);
                }
            }
            return new RoutedNetwork(lab, names[0], names.Skip(1).ToList());
        }
        catch
        {
            await lab.DisposeAsync();
            throw;
        }
    }

    public ValueTask DisposeAsync() => Lab.DisposeAsync();
}
