using System.Collections.Concurrent;
using System.Threading.Channels;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Agents;

namespace Millisampler.Coordinator.Membership;

/// <summary>
/// Racks and their hosts, kept in memory: agents re-register when a heartbeat answers NOT_FOUND, so a restarted
/// coordinator learns its racks again within one heartbeat interval. Health is computed when read, from the
/// <see cref="TimeProvider"/>, so no timer has to flip hosts to stale.
/// </summary>
internal sealed partial class MembershipRegistry
{
    private readonly ConcurrentDictionary<string, HostState> _hosts = new(StringComparer.Ordinal);
    private readonly Channel<string> _registrations = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private readonly IOptionsMonitor<MembershipOptions> _options;
    private readonly TimeProvider _time;
    private readonly TaiClock _clock;
    private readonly ILogger<MembershipRegistry> _logger;

    public MembershipRegistry(IOptionsMonitor<MembershipOptions> options, TimeProvider time, TaiClock clock,
        ILogger<MembershipRegistry> logger)
    {
        _options = options;
        _time = time;
        _clock = clock;
        _logger = logger;
    }

    /// <summary>Hosts that registered (or re-registered) and want a GetInfo probe.</summary>
    public ChannelReader<string> Registrations => _registrations.Reader;

    /// <summary>
    /// Records or updates an agent. Throws INVALID_ARGUMENT naming a missing or malformed field. <paramref name="identity"/>
    /// (who registered, for the log) has already been checked to be allowed to act as the host.
    /// </summary>
    public HostState Register(RegisterRequest request, string identity = "")
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(request.Host))
        {
            errors.Add("host: required");
        }

        if (string.IsNullOrWhiteSpace(request.Rack))
        {
            errors.Add("rack: required");
        }

        if (AgentClientPool.ToUri(request.Address) is null)
        {
            errors.Add($"address: '{request.Address}' is not host:port (or an http(s):// URL) the coordinator can dial");
        }

        if (errors.Count > 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, string.Join("; ", errors)));
        }

        DateTimeOffset now = _time.GetUtcNow();
        ClockState clock = request.Clock ?? new ClockState();
        HostState? previous = null;
        HostState state = _hosts.AddOrUpdate(request.Host,
            _ => new HostState(request.Host, request.Rack, request.Address, [.. request.Interfaces], clock,
                request.AgentVersion, now, now, null, null),
            (_, old) =>
            {
                previous = old;
                bool sameEndpoint = old.Address == request.Address;
                return old with
                {
                    Rack = request.Rack,
                    Address = request.Address,
                    Interfaces = [.. request.Interfaces],
                    Clock = clock,
                    AgentVersion = request.AgentVersion,
                    LastSeen = now,
                    // A new address is a new path: its round trip and limits must be measured again.
                    RoundTrip = sameEndpoint ? old.RoundTrip : null,
                    Limits = sameEndpoint ? old.Limits : null,
                    Offset = sameEndpoint ? old.Offset : null,
                };
            });

        if (previous is not null && previous.Address != state.Address)
        {
            LogHostAddressChanged(_logger, state.Host, state.Rack, previous.Address, state.Address, identity);
        }

        if (previous is not null && previous.Rack != state.Rack)
        {
            LogHostMovedRack(_logger, state.Host, previous.Rack, state.Rack);
        }

        LogHostRegistered(_logger, state.Host, state.Rack, state.Address, state.AgentVersion);
        int ownOffset = _clock.TaiOffsetSeconds;
        if (clock.TaiOffsetSeconds != ownOffset)
        {
            LogTaiOffsetMismatch(_logger, state.Host, clock.TaiOffsetSeconds, ownOffset);
        }

        _registrations.Writer.TryWrite(state.Host);
        return state;
    }

    /// <summary>Marks a host alive. NOT_FOUND when the coordinator does not know it in that rack.</summary>
    public void Heartbeat(HeartbeatRequest request)
    {
        DateTimeOffset now = _time.GetUtcNow();
        if (!TryUpdate(request.Host, s => s.Rack == request.Rack ? s with { LastSeen = now, Clock = request.Clock ?? s.Clock } : null))
        {
            LogHeartbeatFromUnknownHost(_logger, request.Host, request.Rack);
            throw new RpcException(new Status(StatusCode.NotFound,
                $"host '{request.Host}' is not registered in rack '{request.Rack}'; register again"));
        }
    }

    /// <summary>Folds a measured round trip into the host's EWMA.</summary>
    public void RecordRoundTrip(string host, TimeSpan rtt)
    {
        double alpha = _options.CurrentValue.RttSmoothingFactor;
        TryUpdate(host, s => s with
        {
            RoundTrip = s.RoundTrip is { } old ? TimeSpan.FromTicks((long)((alpha * rtt.Ticks) + ((1 - alpha) * old.Ticks))) : rtt,
        });
        Observability.AgentRoundTrip.Record(rtt.TotalSeconds);
    }

    /// <summary>Stores the limits an agent stated in GetInfo.</summary>
    public void RecordLimits(string host, AgentLimits limits) => TryUpdate(host, s => s with { Limits = limits });

    /// <summary>Stores the clock offset measured on a call to the host.</summary>
    public void RecordOffset(string host, ClockOffset offset) => TryUpdate(host, s => s with { Offset = offset });

    /// <summary>The host's record, or null.</summary>
    public HostState? Find(string host) => _hosts.TryGetValue(host, out HostState? s) ? s : null;

    /// <summary>Every host, in no particular order.</summary>
    public IReadOnlyCollection<HostState> All() => [.. _hosts.Values];

    /// <summary>Hosts of a rack sorted by name; empty when the rack is unknown.</summary>
    public IReadOnlyList<HostState> HostsOf(string rack) =>
        [.. _hosts.Values.Where(h => h.Rack == rack).OrderBy(h => h.Host, StringComparer.Ordinal)];

    /// <summary>Names of every rack with at least one host, sorted.</summary>
    public IReadOnlyList<string> Racks() =>
        [.. _hosts.Values.Select(h => h.Rack).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

    /// <summary>"healthy" when the last heartbeat is within <see cref="MembershipOptions.StaleAfterMissedHeartbeats"/> intervals, else "stale".</summary>
    public string HealthOf(HostState host) => IsHealthy(host) ? "healthy" : "stale";

    public bool IsHealthy(HostState host)
    {
        MembershipOptions o = _options.CurrentValue;
        return _time.GetUtcNow() - host.LastSeen <= o.HeartbeatInterval * o.StaleAfterMissedHeartbeats;
    }

    /// <summary>Drops hosts stale for longer than <see cref="MembershipOptions.ForgetStaleHostAfter"/>; returns how many.</summary>
    public int ForgetLongStaleHosts()
    {
        MembershipOptions o = _options.CurrentValue;
        if (o.ForgetStaleHostAfter <= TimeSpan.Zero)
        {
            return 0;
        }

        DateTimeOffset limit = _time.GetUtcNow() - (o.HeartbeatInterval * o.StaleAfterMissedHeartbeats) - o.ForgetStaleHostAfter;
        int forgotten = 0;
        foreach (HostState h in _hosts.Values)
        {
            if (h.LastSeen < limit && _hosts.TryRemove(new KeyValuePair<string, HostState>(h.Host, h)))
            {
                forgotten++;
                LogHostForgotten(_logger, h.Host, h.Rack, h.LastSeen);
            }
        }

        return forgotten;
    }

    /// <summary>Every rack with its hosts, health and last heartbeat, sorted by rack then host.</summary>
    public ListRacksResponse ListRacks()
    {
        var response = new ListRacksResponse();
        foreach (IGrouping<string, HostState> rack in _hosts.Values
                     .GroupBy(h => h.Rack, StringComparer.Ordinal)
                     .OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var r = new Rack { Rack_ = rack.Key };
            foreach (HostState h in rack.OrderBy(h => h.Host, StringComparer.Ordinal))
            {
                var m = new HostMember
                {
                    Host = h.Host,
                    Address = h.Address,
                    Clock = h.Clock.Clone(),
                    Health = HealthOf(h),
                    LastSeenUnixNs = TimeNs.FromUnix(h.LastSeen),
                };
                m.Interfaces.AddRange(h.Interfaces.Select(i => i.Clone()));
                r.Hosts.Add(m);
            }

            response.Racks.Add(r);
        }

        return response;
    }

    /// <summary>Applies <paramref name="update"/> atomically; it returns null to leave the record as is. False when the host is unknown or the update declined.</summary>
    private bool TryUpdate(string host, Func<HostState, HostState?> update)
    {
        while (_hosts.TryGetValue(host, out HostState? current))
        {
            HostState? next = update(current);
            if (next is null)
            {
                return false;
            }

            if (_hosts.TryUpdate(host, next, current))
            {
                return true;
            }
        }

        return false;
    }
}
