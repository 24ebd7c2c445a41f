namespace Millisampler.Lab.Tests.Topology;

[Collection(LabCollection.Name)]
public sealed class NetworkLabTests
{
    [Fact]
    public async Task FailedCommand_ThrowsWithCommandLineAndStderr_AndDisposeStillCleansUp()
    {
        var lab = NetworkLab.Create(LabCollection.Prefix);
        try
        {
            var a = await lab.AddNamespaceAsync("a");
            var e = await Assert.ThrowsAsync<CommandFailedException>(() => lab.AddAddressAsync(a, "nosuchif", "198.18.200.1/24"));
            Assert.Contains("addr add 198.18.200.1/24 dev nosuchif", e.Message, StringComparison.Ordinal);
            Assert.Contains($"ip -n {a} -batch -", e.CommandLine, StringComparison.Ordinal);
            Assert.NotEmpty(e.StdErr);
        }
        finally
        {
            await lab.DisposeAsync();
        }
        Assert.Empty(NetworkLab.ListNamespaces(lab.NamePrefix));
    }

    [Fact]
    public async Task Veth_AddressesAndSysctl_ArePerNamespace()
    {
        await using var lab = NetworkLab.Create(LabCollection.Prefix);
        var a = await lab.AddNamespaceAsync("a");
        var b = await lab.AddNamespaceAsync("b");
        await lab.AddVethAsync(a, "msa0", b, "msb0");
        await lab.AddAddressAsync(a, "msa0", "198.18.200.1/24");
        await lab.AddAddressAsync(b, "msb0", "198.18.200.2/24");
        await lab.SetOffloadsAsync(a, "msa0", new Dictionary<string, bool> { ["tso"] = false, ["gso"] = false });
        lab.SetSysctl(a, "net.ipv4.tcp_ecn", "1");
        lab.SetSysctl(b, "net.ipv4.tcp_ecn", "0");

        // Read back through a separate process so the check does not trust the thread-local write.
        Assert.Equal("1", (await lab.ExecAsync(a, "sysctl", "-n", "net.ipv4.tcp_ecn")).StdOut.Trim());
        Assert.Equal("0", (await lab.ExecAsync(b, "sysctl", "-n", "net.ipv4.tcp_ecn")).StdOut.Trim());
        Assert.Equal("1", NetworkLab.GetSysctl(a, "net.ipv4.tcp_ecn"));
        var features = (await lab.ExecAsync(a, "ethtool", "-k", "msa0")).StdOut;
        Assert.Contains("tcp-segmentation-offload: off", features, StringComparison.Ordinal);

        Assert.True(NetNs.GetIfIndex(a, "msa0") > 1);
        Assert.Throws<InvalidOperationException>(() => NetNs.GetIfIndex(a, "msb0"));
    }

    [Fact]
    public async Task AddressesRoutesAndDelayRules_AreIPv4Only()
    {
        await using var lab = NetworkLab.Create(LabCollection.Prefix);
        var a = await lab.AddNamespaceAsync("a");
        await Assert.ThrowsAsync<ArgumentException>(() => lab.AddAddressAsync(a, "lo", "fd00::1/64"));
        await Assert.ThrowsAsync<ArgumentException>(() => lab.AddRouteAsync(a, "fd00::/64", dev: "lo"));
        await Assert.ThrowsAsync<ArgumentException>(() => lab.AddRouteAsync(a, "default", via: "fe80::1"));
        await Assert.ThrowsAsync<ArgumentException>(() => Millisampler.Lab.DelayLine.StartAsync(lab, a, TimeSpan.Zero, [new DelayRule("lo", "fd00::/64")]));
        Assert.Equal("", (await lab.IpAsync(a, ["-6", "-o", "addr", "show", "scope", "global"])).StdOut.Trim());
    }

    [Fact]
    public async Task Methods_RejectNamespacesOfOtherLabs()
    {
        await using var lab = NetworkLab.Create(LabCollection.Prefix);
        await Assert.ThrowsAsync<ArgumentException>(() => lab.IpAsync("ms-lt-someoneelse-x", ["link"]));
        Assert.Throws<ArgumentException>(() => lab.SetSysctl("init", "net.ipv4.tcp_ecn", "1"));
    }

    [Fact]
    public async Task CleanupStale_DeletesDeadOwnersLeftovers_KeepsLiveLabs()
    {
        // pid 999999999 is above any pid_max, so its "owner" is certainly gone.
        var stale = LabCollection.Prefix + "999999999r00-x";
        await Shell.RunAsync("ip", ["netns", "add", stale]);
        await using var live = NetworkLab.Create(LabCollection.Prefix);
        var mine = await live.AddNamespaceAsync("keep");
        try
        {
            var deleted = NetworkLab.CleanupStale(LabCollection.Prefix);

            Assert.Contains(stale, deleted);
            Assert.DoesNotContain(mine, deleted);
            Assert.False(NetNs.Exists(stale));
            Assert.True(NetNs.Exists(mine));
        }
        finally
        {
            await Shell.TryRunAsync("ip", ["netns", "del", stale]);
        }
    }

    [Fact]
    public void CleanupStale_RefusesPrefixOutsideMs()
    {
        Assert.Throws<ArgumentException>(() => NetworkLab.CleanupStale("lab-"));
        Assert.Throws<ArgumentException>(() => NetworkLab.CleanupStale(""));
    }
}
