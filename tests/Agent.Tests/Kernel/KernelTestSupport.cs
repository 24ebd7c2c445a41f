using System.Net;
using Millisampler.Agent.Bpf;
using Millisampler.Agent.Bpf.Native;
using Millisampler.Agent.Clock;
using Millisampler.Agent.Sampling;
using Millisampler.Contracts.V1;
using Millisampler.Lab;

namespace Millisampler.Agent.Tests.Kernel;

/// <summary>Tests that load programs and build namespaces run one at a time: two cores, one kernel.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class KernelCollection
{
    public const string Name = "kernel";
}

internal static class Repo
{
    /// <summary>The checkout's root (where Millisampler.sln is).</summary>
    public static string Root { get; } = Find();

    private static string Find()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Millisampler.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Millisampler.sln not found above the test assembly.");
    }

    public static string AgentDll => Path.Combine(AppContext.BaseDirectory, "millisampler-agent.dll");

    /// <summary>A test-only eBPF object built by bpf/Makefile (bpf/out/test/NAME.bpf.o).</summary>
    public static BpfObject LoadTestObject(string name)
    {
        var path = Path.Combine(Root, "bpf", "out", "test", name + ".bpf.o");
        var obj = BpfObject.Open(File.ReadAllBytes(path), name);
        try
        {
            obj.Load();
            return obj;
        }
        catch
        {
            obj.Dispose();
            throw;
        }
    }
}

/// <summary>Opens and drives samplers that live in a test namespace.</summary>
internal static class Sampler
{
    /// <summary>Loads and attaches inside <paramref name="ns"/>: interface names resolve there.</summary>
    public static KernelSampler Open(string ns, string ifname, Func<KernelSamplerOptions, KernelSamplerOptions>? configure = null)
    {
        var options = new KernelSamplerOptions { Interfaces = [ifname] };
        if (configure is not null)
        {
            options = configure(options);
        }

        return NetNs.Run(ns, () => KernelSampler.Open(options, new HostClock()));
    }

    public static RunRecorder Recorder(KernelSampler sampler, string host = "test-host") =>
        new(sampler, new HostClock(), new HostIdentity(host, "test-rack", []), TimeProvider.System);

    public static Task<Run> RecordAsync(KernelSampler sampler, long startTaiNs, long binWidthNs, uint bins, CancellationToken ct = default) =>
        Recorder(sampler).RecordAsync(new RunRequest($"test-{startTaiNs}", startTaiNs, binWidthNs, bins, RunOrigin.Local), ct);

    public static ulong Sum(this IEnumerable<ulong> values) => values.Aggregate(0UL, (a, v) => a + v);

    /// <summary>Program ids attached through tcx on an interface, with their names.</summary>
    public static unsafe IReadOnlyList<(uint Id, string Name)> TcxPrograms(string ns, string ifname, HookDirection direction) =>
        NetNs.Run(ns, () =>
        {
            int ifindex = (int)Libc.IfNameToIndex(ifname);
            var ids = new uint[64];
            uint count = (uint)ids.Length;
            uint flags = 0;
            int err;
            fixed (uint* p = ids)
            {
                err = LibBpf.ProgQuery(ifindex, direction == HookDirection.Ingress ? LibBpf.AttachTcxIngress : LibBpf.AttachTcxEgress, 0, &flags, p, &count);
            }

            if (err != 0)
            {
                throw new InvalidOperationException($"bpf_prog_query failed: {err}");
            }

            return (IReadOnlyList<(uint, string)>)ids.Take((int)count).Select(id => (id, HookAttachment.ProgramName(id))).ToList();
        });
}

/// <summary>Two hosts joined by one veth pair: tx (198.18.0.1) and rx (198.18.0.2), interface eth0 on both.</summary>
internal sealed class PairNetwork : IAsyncDisposable
{
    private PairNetwork(NetworkLab lab, string tx, string rx)
    {
        Lab = lab;
        Tx = tx;
        Rx = rx;
    }

    public NetworkLab Lab { get; }
    public string Tx { get; }
    public string Rx { get; }
    public const string If = "eth0";
    public static readonly IPAddress TxAddress = IPAddress.Parse("198.18.0.1");
    public static readonly IPAddress RxAddress = IPAddress.Parse("198.18.0.2");

    /// <summary>
    /// Builds the pair. IPv6 stays off unless asked for (then only link-local addresses exist), so
    /// neighbour discovery chatter does not land outside the measured window. With offloads off,
    /// the TCP stack sends MSS-sized packets and the interface counters count what we count.
    /// </summary>
    public static async Task<PairNetwork> CreateAsync(bool ipv6 = false, bool offloads = true, bool staticNeighbours = true, string prefix = LabNames.DefaultPrefix)
    {
        var lab = NetworkLab.Create(prefix);
        try
        {
            var names = await lab.AddNamespacesAsync(["tx", "rx"]);
            foreach (var ns in names)
            {
                lab.SetSysctl(ns, "net.ipv6.conf.all.disable_ipv6", ipv6 ? "0" : "1");
                lab.SetSysctl(ns, "net.ipv6.conf.default.disable_ipv6", ipv6 ? "0" : "1");
                if (ipv6)
                {
                    // No duplicate address detection on a two-host wire: under load DAD kept the
                    // sender's link-local address tentative long enough for connect() to fail with
                    // "Cannot assign requested address". Set before the veth exists, so it applies.
                    lab.SetSysctl(ns, "net.ipv6.conf.all.accept_dad", "0");
                    lab.SetSysctl(ns, "net.ipv6.conf.default.accept_dad", "0");
                }
            }
            await lab.AddVethAsync(names[0], If, names[1], If);
            await lab.AddAddressAsync(names[0], If, "198.18.0.1/24");
            await lab.AddAddressAsync(names[1], If, "198.18.0.2/24");
            if (!offloads)
            {
                var off = new Dictionary<string, bool> { ["tso"] = false, ["gso"] = false, ["gro"] = false, ["tx-udp-segmentation"] = false };
                await lab.SetOffloadsAsync(names[0], If, off);
                await lab.SetOffloadsAsync(names[1], If, off);
            }
            var net = new PairNetwork(lab, names[0], names[1]);
            if (staticNeighbours)
            {
                // No ARP: every frame on the wire is the test's own traffic.
                await lab.IpAsync(names[0], ["neigh", "replace", "198.18.0.2", "lladdr", await net.MacAsync(names[1]), "dev", If, "nud", "permanent"]);
                await lab.IpAsync(names[1], ["neigh", "replace", "198.18.0.1", "lladdr", await net.MacAsync(names[0]), "dev", If, "nud", "permanent"]);
            }
            return net;
        }
        catch
        {
            await lab.DisposeAsync();
            throw;
        }
    }

    /// <summary>eth0's MAC in <paramref name="ns"/> (sysfs would show the root namespace's devices, so ask ip).</summary>
    public async Task<string> MacAsync(string ns)
    {
        var text = (await Lab.IpAsync(ns, ["-o", "link", "show", "dev", If])).StdOut;
        int at = text.IndexOf("link/ether ", StringComparison.Ordinal);
        return at >= 0 ? text[(at + 11)..].Split(' ')[0] : throw new InvalidOperationException($"No MAC on {ns}/{If}: {text}");
    }

    /// <summary>The IPv6 link-local address the kernel gave eth0 in <paramref name="ns"/>.</summary>
    public async Task<IPAddress> LinkLocalAsync(string ns)
    {
        for (int i = 0; i < 50; i++)
        {
            var r = await Lab.IpAsync(ns, ["-6", "-o", "addr", "show", "dev", If, "scope", "link"]);
            var text = r.StdOut;
            int at = text.IndexOf("inet6 ", StringComparison.Ordinal);
            if (at >= 0 && !text.Contains("tentative", StringComparison.Ordinal))
            {
                var addr = text[(at + 6)..].Split('/', ' ')[0];
                var ip = IPAddress.Parse(addr);
                ip.ScopeId = NetNs.GetIfIndex(ns, If);
                return ip;
            }
            await Task.Delay(100);
        }
        throw new InvalidOperationException($"No usable IPv6 link-local address on {ns}/{If}.");
    }

    public ValueTask DisposeAsync() => Lab.DisposeAsync();
}
