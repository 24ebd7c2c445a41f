using Grpc.Core;
using Millisampler.Agent.Clock;
using Millisampler.Agent.Sampling;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;

namespace Millisampler.Agent.Triggers;

/// <summary>
/// Watches the newest bins of the look-back ring against the trigger rules: every <see cref="TriggerOptions.PollInterval"/>
/// it reads the bins completed since its last read straight from the ring's mapped memory (no syscall per bin), feeds them
/// to the <see cref="TriggerEvaluator"/>, and reports each firing to the coordinator without waiting for the answer.
/// </summary>
internal sealed partial class TriggerWatcher(
    IRunEngine engine,
    HostClock clock,
    TimeProvider time,
    HostIdentity identity,
    TriggerOptions options,
    ITriggerSink sink,
    ILogger<TriggerWatcher> logger) : BackgroundService
{
    /// <summary>A bin is read this long after it ended, so packets still in flight on other CPUs have landed.</summary>
    internal static readonly TimeSpan ReadGrace = TimeSpan.FromMilliseconds(2);

    private readonly Lock _sync = new();
    private readonly HashSet<Task> _reports = [];
    private long _binsRead;
    private long _fired;

    /// <summary>Bins read from the ring so far.</summary>
    public long BinsRead => Interlocked.Read(ref _binsRead);

    /// <summary>Firings reported so far (after cooldown).</summary>
    public long Fired => Interlocked.Read(ref _fired);

    /// <summary>The line rate the rules measure utilization against: the watched interfaces' summed link speed, bits/s.</summary>
    public ulong LineRateBitsPerSecond { get; } = identity.Interfaces.Aggregate(0UL, (sum, i) => sum + i.LinkSpeedBitsPerSecond);

    /// <summary>The configured rules as GetInfo lists them.</summary>
    public IReadOnlyList<TriggerRuleInfo> RuleInfos => _ruleInfos ??= BuildRuleInfos();

    private IReadOnlyList<TriggerRuleInfo>? _ruleInfos;

    private List<TriggerRuleInfo> BuildRuleInfos()
    {
        bool ring = engine.LookbackRings.Count > 0;
        var inactive = new TriggerEvaluator(options.Rules, 1_000_000, LineRateBitsPerSecond).Inactive.ToDictionary(i => i.Rule, i => i.Reason, StringComparer.Ordinal);
        return [.. options.Rules.Select(r => new TriggerRuleInfo
        {
            Name = r.Name,
            Kind = r.Kind.ToString(),
            Bins = r.Bins,
            Condition = Describe(r),
            CooldownNs = TimeNs.Of(r.Cooldown),
            Active = ring && !inactive.ContainsKey(r.Name),
            InactiveReason = !ring ? "no look-back ring" : inactive.GetValueOrDefault(r.Name, ""),
        })];
    }

    /// <summary>A rule's condition in words.</summary>
    internal static string Describe(TriggerRuleOptions r) => r.Kind switch
    {
        TriggerKind.IngressCongestion => FormattableString.Invariant($"ingress >= {r.Utilization:G3} of line rate for {r.Bins} consecutive bins, with CE-marked or retransmitted bytes in them"),
        TriggerKind.RetransmitRate => FormattableString.Invariant($"retransmitted bytes (in + out) above {r.RetransmitBytesPerSecond:G4} bytes/s over {r.Bins} bins"),
        TriggerKind.IngressStall => FormattableString.Invariant($"zero ingress for >= {r.Bins} bins between busy bins (>= {r.BusyBitsPerSecond:G4} bit/s), egress in every one"),
        _ => "unknown",
    };

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Rules.Count == 0)
        {
            return;
        }

        var ring = engine.LookbackRings.FirstOrDefault();
        if (ring is null)
        {
            Log.NoRing(logger, options.Rules.Count);
            return;
        }

        long width = ring.BinWidthNs;
        var evaluator = new TriggerEvaluator(options.Rules, width, LineRateBitsPerSecond);
        foreach (var (rule, reason) in evaluator.Inactive)
        {
            Log.RuleInactive(logger, rule, reason);
        }

        if (evaluator.ActiveRules == 0)
        {
            return;
        }

        Log.Watching(logger, evaluator.ActiveRules, width, (long)options.PollInterval.TotalMilliseconds);
        // Never more than half the ring at once: a watcher that fell further behind skips ahead (a gap the evaluator sees).
        int maxBins = (int)(ring.DepthBins / 2);
        var buffer = new RingBin[maxBins];
        long graceNs = TimeNs.Of(ReadGrace);
        long next = ((clock.NowTaiNs() - graceNs) / width);
        using var timer = new PeriodicTimer(options.PollInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                long lastComplete = ((clock.NowTaiNs() - graceNs) / width) - 1;
                if (lastComplete < next)
                {
                    continue;
                }

                if (lastComplete - next + 1 > maxBins)
                {
                    Log.SkippedBins(logger, lastComplete - next + 1 - maxBins);
                    next = lastComplete - maxBins + 1;
                }

                var bins = buffer.AsSpan(0, (int)(lastComplete - next + 1));
                engine.ReadRingBins(next, bins);
                Interlocked.Add(ref _binsRead, bins.Length);
                next = lastComplete + 1;
                foreach (var bin in bins)
                {
                    foreach (var firing in evaluator.Add(bin))
                    {
                        Report(firing, width, stoppingToken);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }

        Task[] pending;
        lock (_sync)
        {
            pending = [.. _reports];
        }
        await Task.WhenAll(pending).ConfigureAwait(false);
    }

    private void Report(TriggerFiring firing, long width, CancellationToken stoppingToken)
    {
        Interlocked.Increment(ref _fired);
        var report = new TriggerReport
        {
            Host = identity.Host,
            Rack = identity.Rack,
            Rule = firing.Rule,
            BinWidthNs = width,
            FirstBin = firing.FirstBin,
            LastBin = firing.LastBin,
            InstantTaiNs = firing.InstantTaiNs,
        };
        foreach (var (name, value) in firing.Values)
        {
            report.Values[name] = value;
        }

        Log.Fired(logger, firing.Rule, firing.FirstBin, firing.LastBin, firing.InstantTaiNs,
            string.Join(", ", firing.Values.Select(kv => FormattableString.Invariant($"{kv.Key}={kv.Value:G4}"))));
        var task = SendAsync(report, stoppingToken);
        lock (_sync)
        {
            _reports.Add(task);
        }

        task.ContinueWith(t =>
        {
            lock (_sync)
            {
                _reports.Remove(t);
            }
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    private async Task SendAsync(TriggerReport report, CancellationToken cancellationToken)
    {
        await Task.Yield();
        try
        {
            var response = await sink.ReportAsync(report, cancellationToken).ConfigureAwait(false);
            if (response is null)
            {
                Log.NoCoordinator(logger, report.Rule);
            }
            else
            {
                Log.Answered(logger, report.Rule, response.Accepted, response.CaptureId, response.Reason);
            }
        }
        catch (RpcException e)
        {
            Log.ReportFailed(logger, report.Rule, e.StatusCode, e.Status.Detail);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
