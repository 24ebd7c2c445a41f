using System.Net;
using System.Net.Sockets;
using Xunit.Abstractions;

namespace Millisampler.Lab.Tests.Topology;

[Collection(LabCollection.Name)]
public sealed class RackTopologyTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Build_ThreeHostsTwoSenders_EverySenderAndHostReachesEveryHost()
    {
        await using var rack = await RackTopology.Create().WithPrefix(LabCollection.Prefix)
            .WithHosts(3).WithSenders(2).BuildAsync();
        output.WriteLine($"built in {rack.BuildTime.TotalMilliseconds:0} ms");

        var sinks = new List<TcpSink>();
        try
        {
            foreach (var h in rack.Hosts)
            {
                sinks.Add(TcpSink.Start(h.Namespace, new IPEndPoint(IPAddress.Any, 5001), lifetime: TimeSpan.FromSeconds(30)));
            }
            var from = rack.Senders.Select(s => s.Namespace).Concat(rack.Hosts.Select(h => h.Namespace)).ToList();
            foreach (var ns in from)
            {
                foreach (var h in rack.Hosts)
                {
                    Assert.True(await CanConnectAsync(ns, new IPEndPoint(h.Address, 5001)), $"{ns} -> {h.Address}");
                }
            }
        }
        finally
        {
            foreach (var s in sinks)
            {
                await s.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Build_SixHostsSixSenders_TakesUnderThreeSeconds()
    {
        await using var rack = await RackTopology.Create().WithPrefix(LabCollection.Prefix)
            .WithHosts(6).WithSenders(6).BuildAsync();
        output.WriteLine($"6 hosts + 6 senders built in {rack.BuildTime.TotalMilliseconds:0} ms");
        Assert.Equal(6, rack.Hosts.Count);
        Assert.Equal(6, rack.Senders.Count);
        Assert.Equal(14, rack.Lab.Namespaces.Count);
        Assert.True(rack.BuildTime < TimeSpan.FromSeconds(3), $"build took {rack.BuildTime}");

        // Every ToR port toward a host carries the default bottleneck.
        var qdiscs = await rack.Lab.ExecAsync(rack.TorNamespace, "tc", "qdisc", "show");
        Assert.Equal(6, qdiscs.StdOut.Split('\n').Count(l => l.Contains("qdisc tbf", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Dispose_RemovesEveryNamespaceOfTheRack()
    {
        var rack = await RackTopology.Create().WithPrefix(LabCollection.Prefix).WithHosts(2).WithSenders(1).BuildAsync();
        var prefix = rack.Lab.NamePrefix;
        Assert.Equal(5, NetworkLab.ListNamespaces(prefix).Count);

        await rack.DisposeAsync();

        Assert.Empty(NetworkLab.ListNamespaces(prefix));
        var list = await Shell.RunAsync("ip", ["netns", "list"]);
        Assert.DoesNotContain(prefix, list.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rack_AddressPlan_StaysInBenchmarkingRange_AndNoNamespaceHasIPv6()
    {
        await using var rack = await RackTopology.Create().WithPrefix(LabCollection.Prefix).WithHosts(2).WithSenders(2).WithTorShaping(null).BuildAsync();
        var v4 = rack.Hosts.Select(h => h.Address).Concat(rack.Senders.Select(s => s.Address)).ToList();
        Assert.All(v4, a => Assert.True(IPNetwork.Parse("198.18.0.0/15").Contains(a), a.ToString()));
        Assert.Equal("198.18.0.0/15", AddressPlan.Range);

        // Every address in every namespace, as the kernel reports it: IPv4 from the range (or loopback), no IPv6 at all.
        foreach (var ns in rack.Lab.Namespaces)
        {
            var v4Seen = (await rack.Lab.IpAsync(ns, ["-4", "-o", "addr", "show"])).StdOut
                .Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => IPAddress.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[3].Split('/')[0]))
                .Where(a => !IPAddress.IsLoopback(a));
            Assert.All(v4Seen, a => Assert.True(IPNetwork.Parse(AddressPlan.Range).Contains(a), $"{ns}: {a}"));
            Assert.Equal("", (await rack.Lab.IpAsync(ns, ["-6", "-o", "addr", "show"])).StdOut.Trim());
        }
        Assert.All(rack.Lab.Namespaces, ns => Assert.StartsWith(LabCollection.Prefix, ns, StringComparison.Ordinal));
        Assert.Equal("198.18.0.11", rack.Hosts[0].Address.ToString());
        Assert.Equal("198.19.2.2", rack.Senders[1].Address.ToString());

        // No shaping asked for: the ToR ports keep their default qdisc.
        var qdiscs = await rack.Lab.ExecAsync(rack.TorNamespace, "tc", "qdisc", "show");
        Assert.DoesNotContain("tbf", qdiscs.StdOut, StringComparison.Ordinal);
    }

    private static async Task<bool> CanConnectAsync(string ns, IPEndPoint target)
    {
        using var s = NetNs.Run(ns, () => new Socket(target.AddressFamily, SocketType.Stream, ProtocolType.Tcp));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await s.ConnectAsync(target, timeout.Token);
            return true;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return false;
        }
    }
}
