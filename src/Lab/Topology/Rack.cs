using System.Globalization;

namespace Millisampler.Lab;

/// <summary>A built rack (see <see cref="RackTopology"/>). Disposing it deletes every namespace it made.</summary>
public sealed class Rack : IAsyncDisposable
{
    private int delayLines;

    internal Rack(
        NetworkLab lab,
        string torNamespace,
        string routerNamespace,
        IReadOnlyList<RackHost> hosts,
        IReadOnlyList<RackSender> senders,
        TbfOptions? torShaping,
        TimeSpan buildTime)
    {
        Lab = lab;
        TorNamespace = torNamespace;
        RouterNamespace = routerNamespace;
        Hosts = hosts;
        Senders = senders;
        TorShaping = torShaping;
        BuildTime = buildTime;
    }

    /// <summary>The lab holding the rack's namespaces; use it for further changes (sysctls, offloads, drops, Exec).</summary>
    public NetworkLab Lab { get; }

    /// <summary>Namespace of the ToR bridge (<see cref="RackTopology.Bridge"/>).</summary>
    public string TorNamespace { get; }

    /// <summary>Namespace of the router: the rack's gateway and the senders' next hop.</summary>
    public string RouterNamespace { get; }

    /// <summary>Hosts, in index order.</summary>
    public IReadOnlyList<RackHost> Hosts { get; }

    /// <summary>Senders outside the rack, in index order.</summary>
    public IReadOnlyList<RackSender> Senders { get; }

    /// <summary>The bottleneck on each ToR port toward a host, if any.</summary>
    public TbfOptions? TorShaping { get; }

    /// <summary>How long <see cref="RackTopology.BuildAsync"/> took.</summary>
    public TimeSpan BuildTime { get; }

    /// <summary>
    /// Puts <paramref name="remoteSenders"/> in a "remote region": a userspace delay line in the router
    /// holds each packet between them and the rack for <paramref name="oneWayDelay"/> in each direction,
    /// so their round trips to rack hosts grow by twice that. Other senders are not delayed. The delay
    /// line is owned by the lab and stops when the rack is disposed.
    /// </summary>
    public async Task<DelayLine> AddDelayLineAsync(TimeSpan oneWayDelay, IReadOnlyList<RackSender> remoteSenders, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(remoteSenders);
        if (remoteSenders.Count == 0)
        {
            throw new ArgumentException("At least one sender must be remote.", nameof(remoteSenders));
        }
        var rules = new List<DelayRule>();
        foreach (var s in remoteSenders)
        {
            rules.Add(new DelayRule(s.RouterPort));
            rules.Add(new DelayRule(RackTopology.RouterRackInterface, AddressPlan.SenderSubnet(s.Index)));
        }
        var n = Interlocked.Increment(ref delayLines) - 1;
        var line = await DelayLine.StartAsync(
            Lab,
            RouterNamespace,
            oneWayDelay,
            rules,
            tunName: string.Create(CultureInfo.InvariantCulture, $"dl{n}"),
            routingTable: 100 + n,
            cancellationToken: cancellationToken).ConfigureAwait(false);
        return Lab.Own(line);
    }

    /// <summary>Deletes the rack's namespaces (after stopping anything the lab owns).</summary>
    public ValueTask DisposeAsync() => Lab.DisposeAsync();
}
