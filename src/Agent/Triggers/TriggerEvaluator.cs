using Millisampler.Agent.Sampling;
using Millisampler.Common.Time;

namespace Millisampler.Agent.Triggers;

/// <summary>A rule that fired: the bins [<paramref name="FirstBin"/>, <paramref name="LastBin"/>] in which its condition held, the instant (end of the last bin, TAI ns) and the values that made it fire.</summary>
public sealed record TriggerFiring(string Rule, TriggerKind Kind, long FirstBin, long LastBin, long InstantTaiNs, IReadOnlyDictionary<string, double> Values);

/// <summary>
/// Evaluates trigger rules over a stream of consecutive ring bins. Pure: no clock, no I/O; state lives between calls
/// to <see cref="Add"/>, so the watcher feeds it the bins it reads, in order. A gap in the bin numbers (a read that
/// fell behind) starts every rule's condition afresh. A rule that fired stays quiet for its cooldown, measured on the
/// bin grid (by the firing instants), so the result does not depend on when bins are read.
/// </summary>
public sealed class TriggerEvaluator
{
    private readonly List<RuleState> _rules = [];
    private readonly long _binWidthNs;
    private long _nextBin = long.MinValue;

    /// <summary>
    /// Rules over bins of <paramref name="binWidthNs"/>; <paramref name="lineRateBitsPerSecond"/> is the watched interfaces'
    /// summed link speed (0 = unknown: IngressCongestion rules cannot be evaluated and are listed in <see cref="Inactive"/>).
    /// </summary>
    public TriggerEvaluator(IEnumerable<TriggerRuleOptions> rules, long binWidthNs, ulong lineRateBitsPerSecond)
    {
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(binWidthNs);
        _binWidthNs = binWidthNs;
        double seconds = binWidthNs / 1e9;
        var inactive = new List<(string, string)>();
        foreach (var r in rules)
        {
            if (r.Kind == TriggerKind.IngressCongestion && lineRateBitsPerSecond == 0)
            {
                inactive.Add((r.Name, "the link speed is unknown (veth reports none); set Agent:LinkSpeedBitsPerSecond"));
                continue;
            }

            _rules.Add(new RuleState(r, Math.Max(1, (int)r.Bins))
            {
                CapacityBytesPerBin = lineRateBitsPerSecond / 8.0 * seconds,
                BusyBytesPerBin = r.BusyBitsPerSecond / 8.0 * seconds,
                CooldownNs = TimeNs.Of(r.Cooldown),
            });
        }
        Inactive = inactive;
    }

    /// <summary>Rules that cannot be evaluated here, with the reason.</summary>
    public IReadOnlyList<(string Rule, string Reason)> Inactive { get; }

    /// <summary>Rules evaluated.</summary>
    public int ActiveRules => _rules.Count;

    /// <summary>Feeds one bin (the next after the previous one, or after a gap); returns the rules that fired at it.</summary>
    public IReadOnlyList<TriggerFiring> Add(in RingBin bin)
    {
        if (bin.Bin != _nextBin)
        {
            foreach (var r in _rules)
            {
                r.Reset();
            }
        }

        _nextBin = bin.Bin + 1;
        List<TriggerFiring>? fired = null;
        foreach (var r in _rules)
        {
            var firing = r.Options.Kind switch
            {
                TriggerKind.IngressCongestion => Congestion(r, bin),
                TriggerKind.RetransmitRate => Retransmit(r, bin),
                TriggerKind.IngressStall => Stall(r, bin),
                _ => null,
            };
            if (firing is null)
            {
                continue;
            }

            if (r.LastFiredAtNs is { } last && firing.InstantTaiNs < last + r.CooldownNs)
            {
                continue;
            }

            r.LastFiredAtNs = firing.InstantTaiNs;
            (fired ??= []).Add(firing);
        }
        return fired ?? (IReadOnlyList<TriggerFiring>)[];
    }

    private TriggerFiring? Congestion(RuleState r, in RingBin bin)
    {
        r.Push(bin);
        r.Run = bin.InBytes >= r.Options.Utilization * r.CapacityBytesPerBin ? r.Run + 1 : 0;
        if (r.Run < r.N)
        {
            return null;
        }

        ulong ingress = 0, ce = 0, retx = 0;
        foreach (var b in r.Window)
        {
            ingress += b.InBytes;
            ce += b.InCeBytes;
            retx += b.InRetransmitBytes + b.OutRetransmitBytes;
        }
        if (ce + retx == 0)
        {
            return null;
        }

        return Fire(r, bin.Bin - r.N + 1, bin.Bin, new Dictionary<string, double>
        {
            ["ingress_utilization"] = ingress / (r.CapacityBytesPerBin * r.N),
            ["ingress_bytes"] = ingress,
            ["ce_bytes"] = ce,
            ["retransmit_bytes"] = retx,
        });
    }

    private TriggerFiring? Retransmit(RuleState r, in RingBin bin)
    {
        r.Push(bin);
        if (r.Window.Count < r.N)
        {
            return null;
        }

        ulong retx = 0;
        foreach (var b in r.Window)
        {
            retx += b.InRetransmitBytes + b.OutRetransmitBytes;
        }
        double rate = retx / (r.N * _binWidthNs / 1e9);
        return rate > r.Options.RetransmitBytesPerSecond
            ? Fire(r, bin.Bin - r.N + 1, bin.Bin, new Dictionary<string, double> { ["retransmit_bytes_per_second"] = rate, ["retransmit_bytes"] = retx })
            : null;
    }

    private TriggerFiring? Stall(RuleState r, in RingBin bin)
    {
        if (bin.InBytes == 0)
        {
            // A stall only starts right after a busy bin, and needs egress in every stalled bin.
            if ((r.Run > 0 || r.PreviousBusy) && bin.OutBytes > 0)
            {
                if (r.Run == 0)
                {
                    r.StallStart = bin.Bin;
                    r.EgressInStall = 0;
                }

                r.Run++;
                r.EgressInStall += bin.OutBytes;
            }
            else
            {
                r.Run = 0;
            }

            r.PreviousBusy = false;
            return null;
        }

        bool busy = bin.InBytes >= r.BusyBytesPerBin;
        TriggerFiring? firing = null;
        if (busy && r.Run >= r.N)
        {
            firing = Fire(r, r.StallStart, bin.Bin - 1, new Dictionary<string, double>
            {
                ["stall_bins"] = r.Run,
                ["egress_bytes"] = r.EgressInStall,
                ["ingress_bytes_before"] = r.BusyBefore,
                ["ingress_bytes_after"] = bin.InBytes,
            });
        }

        r.Run = 0;
        r.PreviousBusy = busy;
        if (busy)
        {
            r.BusyBefore = bin.InBytes;
        }

        return firing;
    }

    private TriggerFiring Fire(RuleState r, long first, long last, Dictionary<string, double> values) =>
        new(r.Options.Name, r.Options.Kind, first, last, (last + 1) * _binWidthNs, values);

    private sealed class RuleState(TriggerRuleOptions options, int n)
    {
        public TriggerRuleOptions Options { get; } = options;
        public int N { get; } = n;
        public Queue<RingBin> Window { get; } = new(n);
        public double CapacityBytesPerBin { get; init; }
        public double BusyBytesPerBin { get; init; }
        public long CooldownNs { get; init; }
        public long? LastFiredAtNs { get; set; }
        public int Run { get; set; }
        public bool PreviousBusy { get; set; }
        public long StallStart { get; set; }
        public ulong EgressInStall { get; set; }
        public ulong BusyBefore { get; set; }

        public void Push(in RingBin bin)
        {
            if (Window.Count == N)
            {
                Window.Dequeue();
            }

            Window.Enqueue(bin);
        }

        public void Reset()
        {
            Window.Clear();
            Run = 0;
            PreviousBusy = false;
        }
    }
}
