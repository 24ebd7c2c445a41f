using System.Globalization;
using System.Text;

namespace Millisampler.Lab;

/// <summary>nftables address family a random-drop rule hooks into.</summary>
public enum NftFamily
{
    /// <summary>Routed IPv4 and IPv6 traffic (inet forward hook), e.g. in a router namespace.</summary>
    Inet,

    /// <summary>Bridged frames (bridge forward hook), e.g. between ports of a ToR bridge.</summary>
    Bridge,
}

/// <summary>A rule added by <see cref="NetworkLab.AddRandomDropAsync"/> or <see cref="NetworkLab.AddRandomEcnMarkAsync"/>; it lives in its own nft table.</summary>
public sealed record NftRule(string Namespace, NftFamily Family, string Table, int PerMille);

/// <summary>
/// A set of network namespaces built for one test or demo, and everything inside them: veth pairs,
/// bridges, addresses, routes, sysctls, offloads, tbf bottlenecks and nft drop rules. Every namespace
/// is named <c>{prefix}{runId}-{role}</c> and nothing is created in the root namespace, so disposing the
/// lab (which deletes its namespaces) removes everything, also after a partial build. Methods accept
/// only namespaces of this lab.
/// </summary>
public sealed class NetworkLab : IAsyncDisposable
{
    private readonly Lock gate = new();
    private readonly List<string> namespaces = [];
    private readonly List<IAsyncDisposable> owned = [];
    private int nftTables;
    private bool disposed;

    private NetworkLab(string prefix)
    {
        Prefix = prefix;
        RunId = LabNames.NewRunId();
    }

    /// <summary>A new, empty lab; creates nothing until namespaces are added.</summary>
    public static NetworkLab Create(string prefix = LabNames.DefaultPrefix)
    {
        LabNames.ValidatePrefix(prefix);
        return new NetworkLab(prefix);
    }

    /// <summary>The prefix every namespace name starts with (always "ms-" or longer).</summary>
    public string Prefix { get; }

    /// <summary>This lab's unique part of the names: <c>{pid}r{xxxx}</c>.</summary>
    public string RunId { get; }

    /// <summary>Every namespace of this lab starts with this: <c>{prefix}{runId}-</c>.</summary>
    public string NamePrefix => Prefix + RunId + "-";

    /// <summary>Namespaces created so far (also those whose creation was attempted).</summary>
    public IReadOnlyList<string> Namespaces
    {
        get
        {
            lock (gate)
            {
                return [.. namespaces];
            }
        }
    }

    /// <summary>The full namespace name for <paramref name="role"/> in this lab.</summary>
    public string NamespaceName(string role)
    {
        LabNames.ValidateRole(role);
        return NamePrefix + role;
    }

    /// <summary>Creates namespace <c>{prefix}{runId}-{role}</c> with its loopback up; returns its name.</summary>
    public async Task<string> AddNamespaceAsync(string role, CancellationToken cancellationToken = default)
    {
        var ns = await CreateNamespaceAsync(role, cancellationToken).ConfigureAwait(false);
        await IpAsync(ns, ["link", "set", "lo", "up"], cancellationToken).ConfigureAwait(false);
        return ns;
    }

    /// <summary>Creates several namespaces, a few at a time. Loopback stays down when <paramref name="loopbackUp"/> is false (a later batch brings it up).</summary>
    public async Task<IReadOnlyList<string>> AddNamespacesAsync(IReadOnlyList<string> roles, bool loopbackUp = true, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(roles);
        var names = new string[roles.Count];
        await ForEachLimitedAsync(Enumerable.Range(0, roles.Count), async i =>
        {
            names[i] = loopbackUp
                ? await AddNamespaceAsync(roles[i], cancellationToken).ConfigureAwait(false)
                : await CreateNamespaceAsync(roles[i], cancellationToken).ConfigureAwait(false);
        }).ConfigureAwait(false);
        return names;
    }

    /// <summary>Creates a veth pair with one end in each namespace and brings both ends up.</summary>
    public async Task AddVethAsync(string nsA, string ifA, string nsB, string ifB, CancellationToken cancellationToken = default)
    {
        EnsureOwned(nsA);
        EnsureOwned(nsB);
        LabNames.ValidateInterface(ifA);
        LabNames.ValidateInterface(ifB);
        await IpBatchAsync(nsA, [$"link add {ifA} type veth peer name {ifB} netns {nsB}", $"link set {ifA} up"], cancellationToken).ConfigureAwait(false);
        await IpAsync(nsB, ["link", "set", ifB, "up"], cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Creates a Linux bridge (STP off, no forward delay, no multicast snooping) and brings it up.</summary>
    public Task AddBridgeAsync(string ns, string bridge, CancellationToken cancellationToken = default)
    {
        LabNames.ValidateInterface(bridge);
        return IpBatchAsync(ns, [BridgeAddLine(bridge), $"link set {bridge} up"], cancellationToken);
    }

    /// <summary>Makes <paramref name="ifname"/> a port of <paramref name="bridge"/> and brings it up.</summary>
    public Task AttachToBridgeAsync(string ns, string ifname, string bridge, CancellationToken cancellationToken = default)
    {
        LabNames.ValidateInterface(ifname);
        LabNames.ValidateInterface(bridge);
        return IpAsync(ns, ["link", "set", ifname, "master", bridge, "up"], cancellationToken);
    }

    /// <summary>Adds an IPv4 address in CIDR form. The lab assigns no IPv6 addresses (see <see cref="AddressPlan"/>); IPv6 is rejected.</summary>
    public Task AddAddressAsync(string ns, string ifname, string cidr, CancellationToken cancellationToken = default)
    {
        LabNames.ValidateInterface(ifname);
        return IpBatchAsync(ns, [AddressAddLine(ifname, cidr)], cancellationToken);
    }

    /// <summary>Adds an IPv4 route to <paramref name="destination"/> ("default" or a prefix) via a gateway and/or out of a device. IPv6 is rejected: the lab routes no IPv6.</summary>
    public Task AddRouteAsync(string ns, string destination, string? via = null, string? dev = null, CancellationToken cancellationToken = default)
    {
        if (via is null && dev is null)
        {
            throw new ArgumentException("A route needs a gateway (via) or a device (dev).");
        }
        if (destination.Contains(':', StringComparison.Ordinal) || (via?.Contains(':', StringComparison.Ordinal) ?? false))
        {
            throw new ArgumentException($"The lab adds IPv4 routes only, not {destination}{(via is null ? "" : " via " + via)}.");
        }
        var line = new StringBuilder($"route add {destination}");
        if (via is not null)
        {
            line.Append(" via ").Append(via);
        }
        if (dev is not null)
        {
            LabNames.ValidateInterface(dev);
            line.Append(" dev ").Append(dev);
        }
        return IpBatchAsync(ns, [line.ToString()], cancellationToken);
    }

    /// <summary>Sets sysctls (e.g. "net.ipv4.tcp_ecn" = "1") in <paramref name="ns"/> by writing /proc/sys from a thread inside it.</summary>
    public void SetSysctls(string ns, IEnumerable<KeyValuePair<string, string>> settings)
    {
        EnsureOwned(ns);
        var list = settings.Select(kv => (Path: SysctlPath(kv.Key), kv.Key, kv.Value)).ToList();
        NetNs.Run(ns, () =>
        {
            foreach (var (path, key, value) in list)
            {
                try
                {
                    File.WriteAllText(path, value);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    throw new InvalidOperationException($"sysctl {key}={value} in namespace {ns} failed: {e.Message}", e);
                }
            }
        });
    }

    /// <summary>Sets one sysctl in <paramref name="ns"/>.</summary>
    public void SetSysctl(string ns, string key, string value) => SetSysctls(ns, [new(key, value)]);

    /// <summary>Reads a sysctl as seen inside <paramref name="ns"/>.</summary>
    public static string GetSysctl(string ns, string key)
    {
        var path = SysctlPath(key);
        return NetNs.Run(ns, () => File.ReadAllText(path).Trim());
    }

    /// <summary>Turns offloads on or off with <c>ethtool -K</c>, e.g. { "tso": false, "gso": false, "gro": false }.</summary>
    public Task SetOffloadsAsync(string ns, string ifname, IReadOnlyDictionary<string, bool> features, CancellationToken cancellationToken = default)
    {
        LabNames.ValidateInterface(ifname);
        var args = new List<string> { "ethtool", "-K", ifname };
        foreach (var (feature, on) in features)
        {
            args.Add(feature);
            args.Add(on ? "on" : "off");
        }
        return ExecAsync(ns, args, cancellationToken: cancellationToken);
    }

    /// <summary>Puts a tbf bottleneck as the root qdisc of <paramref name="ifname"/>'s egress (replacing any).</summary>
    public Task SetTbfAsync(string ns, string ifname, TbfOptions tbf, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tbf);
        return TcBatchAsync(ns, [TbfLine(ifname, tbf)], cancellationToken);
    }

    /// <summary>Removes the root qdisc of <paramref name="ifname"/> (back to the default).</summary>
    public Task RemoveRootQdiscAsync(string ns, string ifname, CancellationToken cancellationToken = default)
    {
        LabNames.ValidateInterface(ifname);
        return TcBatchAsync(ns, [$"qdisc del dev {ifname} root"], cancellationToken);
    }

    /// <summary>
    /// Drops forwarded packets at random, <paramref name="perMille"/> of every 1000 (nft
    /// <c>numgen random mod 1000 &lt; N drop</c>), optionally only those entering or leaving given interfaces.
    /// The rule sees skbs: with TSO/GSO on at the sender one skb can be a 64 KiB aggregate, so turn
    /// those offloads off (<see cref="SetOffloadsAsync"/>) for loss per wire packet.
    /// </summary>
    public Task<NftRule> AddRandomDropAsync(
        string ns,
        int perMille,
        string? inputInterface = null,
        string? outputInterface = null,
        NftFamily family = NftFamily.Inet,
        CancellationToken cancellationToken = default) =>
        AddNftRuleAsync(ns, perMille, inputInterface, outputInterface, family, perMille => [$"numgen random mod 1000 < {perMille} counter drop"], cancellationToken);

    /// <summary>
    /// Marks forwarded ECN-capable packets (ECT(0) or ECT(1)) Congestion Experienced at random,
    /// <paramref name="perMille"/> of every 1000, as an AQM would (this kernel has no RED or fq_codel).
    /// Endpoints need net.ipv4.tcp_ecn=1 to send ECN-capable packets. Same skb caveat as <see cref="AddRandomDropAsync"/>.
    /// </summary>
    public Task<NftRule> AddRandomEcnMarkAsync(
        string ns,
        int perMille,
        string? inputInterface = null,
        string? outputInterface = null,
        NftFamily family = NftFamily.Inet,
        CancellationToken cancellationToken = default) =>
        AddNftRuleAsync(ns, perMille, inputInterface, outputInterface, family, perMille =>
        [
            $"ip ecn {{ ect0, ect1 }} numgen random mod 1000 < {perMille} ip ecn set ce counter",
            $"ip6 ecn {{ ect0, ect1 }} numgen random mod 1000 < {perMille} ip6 ecn set ce counter",
        ], cancellationToken);

    /// <summary>Removes a rule added by <see cref="AddRandomDropAsync"/> or <see cref="AddRandomEcnMarkAsync"/>.</summary>
    public Task RemoveNftRuleAsync(NftRule rule, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rule);
        return ExecAsync(rule.Namespace, ["nft", "delete", "table", FamilyName(rule.Family), rule.Table], cancellationToken: cancellationToken);
    }

    /// <summary>Packets the rule has dropped or marked so far (sum of its nft counters).</summary>
    public async Task<long> GetNftPacketCountAsync(NftRule rule, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rule);
        var r = await ExecAsync(rule.Namespace, ["nft", "list", "table", FamilyName(rule.Family), rule.Table], cancellationToken: cancellationToken).ConfigureAwait(false);
        const string Marker = "counter packets ";
        long total = 0;
        var found = false;
        for (var at = r.StdOut.IndexOf(Marker, StringComparison.Ordinal); at >= 0; at = r.StdOut.IndexOf(Marker, at + 1, StringComparison.Ordinal))
        {
            var digits = r.StdOut[(at + Marker.Length)..].TakeWhile(char.IsAsciiDigit).ToArray();
            total += long.Parse(digits, CultureInfo.InvariantCulture);
            found = true;
        }
        return found ? total : throw new InvalidOperationException($"No counter in nft table {rule.Table}:{Environment.NewLine}{r.StdOut}");
    }

    private async Task<NftRule> AddNftRuleAsync(
        string ns,
        int perMille,
        string? inputInterface,
        string? outputInterface,
        NftFamily family,
        Func<int, string[]> statements,
        CancellationToken cancellationToken)
    {
        EnsureOwned(ns);
        if (perMille is < 0 or > 1000)
        {
            throw new ArgumentOutOfRangeException(nameof(perMille), perMille, "perMille must be 0..1000.");
        }
        var match = new StringBuilder();
        if (inputInterface is not null)
        {
            LabNames.ValidateInterface(inputInterface);
            match.Append(CultureInfo.InvariantCulture, $"iifname \"{inputInterface}\" ");
        }
        if (outputInterface is not null)
        {
            LabNames.ValidateInterface(outputInterface);
            match.Append(CultureInfo.InvariantCulture, $"oifname \"{outputInterface}\" ");
        }
        var table = string.Create(CultureInfo.InvariantCulture, $"ms_lab{Interlocked.Increment(ref nftTables)}");
        var familyName = FamilyName(family);
        var rules = string.Join(Environment.NewLine, statements(perMille).Select(st => $"        {match}{st}"));
        var script = $$"""
            table {{familyName}} {{table}} {
                chain forward {
                    type filter hook forward priority 0; policy accept;
            {{rules}}
                }
            }
            """;
        await ExecAsync(ns, ["nft", "-f", "-"], script, cancellationToken: cancellationToken).ConfigureAwait(false);
        return new NftRule(ns, family, table, perMille);
    }

    /// <summary>Runs a program inside <paramref name="ns"/> (<c>ip netns exec</c>); throws with the command line and stderr unless it exits 0.</summary>
    public Task<CommandResult> ExecAsync(
        string ns,
        IReadOnlyList<string> argv,
        string? stdin = null,
        TimeSpan? timeout = null,
        CancellationToken cancellationToken = default)
    {
        EnsureOwned(ns);
        if (argv.Count == 0)
        {
            throw new ArgumentException("Empty command.", nameof(argv));
        }
        return Shell.RunAsync("ip", ["netns", "exec", ns, .. argv], stdin, timeout, cancellationToken);
    }

    /// <summary>Runs a program inside <paramref name="ns"/>; throws unless it exits 0.</summary>
    public Task<CommandResult> ExecAsync(string ns, params string[] argv) => ExecAsync(ns, (IReadOnlyList<string>)argv);

    /// <summary>Runs <c>ip -n NS args...</c>.</summary>
    public Task<CommandResult> IpAsync(string ns, IReadOnlyList<string> args, CancellationToken cancellationToken = default)
    {
        EnsureOwned(ns);
        return Shell.RunAsync("ip", ["-n", ns, .. args], cancellationToken: cancellationToken);
    }

    /// <summary>
    /// Runs several ip commands in one process (<c>ip -n NS -batch -</c>), one per line without the
    /// leading "ip". Batch lines cannot carry global options, so lines starting with "-4 " or "-6 " run
    /// afterwards in a second and third batch with that option, each group in its own order.
    /// </summary>
    public Task IpBatchAsync(string ns, IEnumerable<string> lines, CancellationToken cancellationToken = default)
    {
        EnsureOwned(ns);
        return RunIpBatchAsync(ns, lines, force: false, cancellationToken);
    }

    internal static async Task RunIpBatchAsync(string ns, IEnumerable<string> lines, bool force, CancellationToken cancellationToken)
    {
        var groups = lines
            .Select(l => l.StartsWith("-4 ", StringComparison.Ordinal) || l.StartsWith("-6 ", StringComparison.Ordinal) ? (Family: l[..2], Line: l[3..]) : (Family: "", Line: l))
            .GroupBy(l => l.Family)
            .OrderBy(g => g.Key, StringComparer.Ordinal);
        foreach (var g in groups)
        {
            List<string> args = g.Key.Length == 0 ? ["-n", ns, "-batch", "-"] : [g.Key, "-n", ns, "-batch", "-"];
            var stdin = string.Join('\n', g.Select(l => l.Line)) + "\n";
            if (force)
            {
                // Keep going past lines that fail (things already gone).
                await Shell.TryRunAsync("ip", ["-force", .. args], stdin, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await Shell.RunAsync("ip", args, stdin, cancellationToken: cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Runs several tc commands in one process (<c>tc -n NS -batch -</c>), one per line without the leading "tc".</summary>
    public Task TcBatchAsync(string ns, IEnumerable<string> lines, CancellationToken cancellationToken = default)
    {
        EnsureOwned(ns);
        return Shell.RunAsync("tc", ["-n", ns, "-batch", "-"], string.Join('\n', lines) + "\n", cancellationToken: cancellationToken);
    }

    /// <summary>Hands <paramref name="resource"/> (a traffic generator, a delay line) to the lab, which disposes it, last first, before deleting the namespaces.</summary>
    public T Own<T>(T resource)
        where T : IAsyncDisposable
    {
        ArgumentNullException.ThrowIfNull(resource);
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            owned.Add(resource);
        }
        return resource;
    }

    /// <summary>Disposes owned resources, then deletes every namespace of the lab (and with them all interfaces, qdiscs and rules). Tolerates partial creation.</summary>
    public async ValueTask DisposeAsync()
    {
        List<IAsyncDisposable> resources;
        List<string> names;
        lock (gate)
        {
            if (disposed)
            {
                return;
            }
            disposed = true;
            resources = [.. owned];
            names = [.. namespaces];
        }

        var errors = new List<Exception>();
        for (var i = resources.Count - 1; i >= 0; i--)
        {
            try
            {
                await resources[i].DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception e)
            {
                errors.Add(e);
            }
        }
        try
        {
            await DeleteNamespacesAsync(names).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            errors.Add(e);
        }
        if (errors.Count > 0)
        {
            throw new AggregateException("Lab cleanup failed.", errors);
        }
    }

    /// <summary>Names of existing namespaces starting with <paramref name="prefix"/>.</summary>
    public static IReadOnlyList<string> ListNamespaces(string prefix = LabNames.DefaultPrefix)
    {
        if (!Directory.Exists(NetNs.RunDirectory))
        {
            return [];
        }
        return [.. Directory.EnumerateFiles(NetNs.RunDirectory)
            .Select(Path.GetFileName)
            .OfType<string>()
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)];
    }

    /// <summary>
    /// Deletes leftover namespaces whose names start with <paramref name="prefix"/> (which must start
    /// with "ms-"). Namespaces named by a lab whose creating process is still alive are kept unless
    /// <paramref name="includeLiveOwners"/> is set. Returns the names deleted.
    /// </summary>
    public static IReadOnlyList<string> CleanupStale(string prefix = LabNames.DefaultPrefix, bool includeLiveOwners = false)
    {
        LabNames.ValidatePrefix(prefix);
        var stale = ListNamespaces(prefix)
            .Where(ns => includeLiveOwners || LabNames.OwnerPid(ns) is not { } pid || (pid != Environment.ProcessId && !Directory.Exists($"/proc/{pid}")))
            .ToList();
        DeleteNamespacesAsync(stale).GetAwaiter().GetResult();
        return stale;
    }

    internal void EnsureOwned(string ns)
    {
        NetNs.ValidateName(ns);
        if (!ns.StartsWith(NamePrefix, StringComparison.Ordinal))
        {
            throw new ArgumentException($"Namespace '{ns}' does not belong to this lab (names start with '{NamePrefix}').", nameof(ns));
        }
    }

    internal static string BridgeAddLine(string bridge) =>
        $"link add {bridge} type bridge stp_state 0 forward_delay 0 mcast_snooping 0";

    internal static string AddressAddLine(string ifname, string cidr) =>
        cidr.Contains(':', StringComparison.Ordinal)
            ? throw new ArgumentException($"The lab assigns IPv4 addresses only, not {cidr}; IPv6 uses the kernel's link-local addresses.", nameof(cidr))
            : $"addr add {cidr} dev {ifname}";

    internal static string TbfLine(string ifname, TbfOptions tbf)
    {
        LabNames.ValidateInterface(ifname);
        return $"qdisc replace dev {ifname} root " + string.Join(' ', tbf.ToTcArguments());
    }

    internal static async Task ForEachLimitedAsync<T>(IEnumerable<T> items, Func<T, Task> body, int parallelism = 4)
    {
        using var slots = new SemaphoreSlim(parallelism);
        var tasks = items.Select(async item =>
        {
            await slots.WaitAsync().ConfigureAwait(false);
            try
            {
                await body(item).ConfigureAwait(false);
            }
            finally
            {
                slots.Release();
            }
        }).ToList();
        await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    private async Task<string> CreateNamespaceAsync(string role, CancellationToken cancellationToken)
    {
        var ns = NamespaceName(role);
        lock (gate)
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            if (namespaces.Contains(ns))
            {
                throw new ArgumentException($"Namespace role '{role}' already exists in this lab.", nameof(role));
            }
            // Recorded before creation so a failure half-way is still cleaned up.
            namespaces.Add(ns);
        }
        await Shell.RunAsync("ip", ["netns", "add", ns], cancellationToken: cancellationToken).ConfigureAwait(false);
        return ns;
    }

    private static async Task DeleteNamespacesAsync(IReadOnlyCollection<string> names)
    {
        var existing = names.Where(NetNs.Exists).ToList();
        if (existing.Count == 0)
        {
            return;
        }
        // One process for all; -force keeps going past a name that vanished meanwhile.
        await Shell.TryRunAsync("ip", ["-force", "-batch", "-"], string.Join('\n', existing.Select(n => $"netns del {n}")) + "\n").ConfigureAwait(false);
        foreach (var ns in existing.Where(NetNs.Exists))
        {
            await Shell.RunAsync("ip", ["netns", "del", ns]).ConfigureAwait(false);
        }
    }

    private static string FamilyName(NftFamily family) => family switch
    {
        NftFamily.Inet => "inet",
        NftFamily.Bridge => "bridge",
        _ => throw new ArgumentOutOfRangeException(nameof(family), family, null),
    };

    private static string SysctlPath(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        if (key.Contains("..", StringComparison.Ordinal) || key.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '/')))
        {
            throw new ArgumentException($"'{key}' is not a sysctl name.", nameof(key));
        }
        return "/proc/sys/" + (key.Contains('/', StringComparison.Ordinal) ? key.TrimStart('/') : key.Replace('.', '/'));
    }
}
