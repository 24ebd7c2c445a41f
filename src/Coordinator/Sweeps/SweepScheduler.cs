using System.Collections.Concurrent;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Storage;

namespace Millisampler.Coordinator.Sweeps;

/// <summary>What one scheduling step did, for logs, metrics and tests.</summary>
internal sealed record SweepTickResult(IReadOnlyList<PlannedStart> Started, IReadOnlyList<PlannedStart> SkippedBusy,
    IReadOnlyList<PlannedStart> OverBudget, IReadOnlyList<string> RacksLeasedElsewhere);

/// <summary>
/// One coordinator's share of every sweep: at each step it reads the sweeps, takes or renews the lease of each
/// (sweep, rack) it has agents for, asks <see cref="SweepPlanner"/> what is due, claims each due period in the store
/// (so a period runs once, across restarts and coordinators) and starts the capture; when a capture ends, its summary
/// is stored. Progress lives in the store, so a restarted coordinator continues where it left off.
/// </summary>
internal sealed partial class SweepScheduler
{
    private readonly ISweepStore _store;
    private readonly ILeaseStore _leases;
    private readonly ISweepCaptures _captures;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, int> _runningPerSweep = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _runningRacks = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Task, bool> _completions = new();
    private readonly Dictionary<string, DateTimeOffset> _leaseRenewed = new(StringComparer.Ordinal);

    public SweepScheduler(ISweepStore store, ILeaseStore leases, ISweepCaptures captures, TimeProvider time, string holder,
        TimeSpan leaseDuration, ILogger logger)
    {
        _store = store;
        _leases = leases;
        _captures = captures;
        _time = time;
        Holder = holder;
        LeaseDuration = leaseDuration;
        _logger = logger;
    }

    /// <summary>This coordinator's name in leases.</summary>
    public string Holder { get; }

    public TimeSpan LeaseDuration { get; }

    /// <summary>Leases this scheduler holds now.</summary>
    public IReadOnlyCollection<string> HeldLeases => _leaseRenewed.Keys;

    /// <summary>Sweep captures started and not ended yet.</summary>
    public int Running => _runningPerSweep.Values.Sum();

    /// <summary>The lease that makes one coordinator the one sampling <paramref name="rack"/> for <paramref name="sweep"/>.</summary>
    public static string LeaseName(string sweep, string rack) => $"sweep/{sweep}/{rack}";

    /// <summary>One scheduling step at the current time.</summary>
    public async Task<SweepTickResult> TickAsync(CancellationToken cancellationToken)
    {
        DateTimeOffset now = _time.GetUtcNow();
        IReadOnlyList<Sweep> sweeps = await _store.ListSweepsAsync(cancellationToken).ConfigureAwait(false);
        IReadOnlyList<string> known = _captures.Racks();
        var started = new List<PlannedStart>();
        var busy = new List<PlannedStart>();
        var over = new List<PlannedStart>();
        var elsewhere = new List<string>();
        var wanted = new HashSet<string>(StringComparer.Ordinal);

        foreach (Sweep sweep in sweeps)
        {
            string name = sweep.Definition.Name;
            if (sweep.Paused)
            {
                continue;
            }

            var mine = new List<string>();
            foreach (string rack in SweepPlanner.SelectRacks(sweep.Definition.Racks, known))
            {
                string lease = LeaseName(name, rack);
                wanted.Add(lease);
                if (await HoldLeaseAsync(lease, now, cancellationToken).ConfigureAwait(false))
                {
                    mine.Add(rack);
                }
                else
                {
                    elsewhere.Add(rack);
                }
            }

            if (mine.Count == 0)
            {
                continue;
            }

            Dictionary<(string, long), long> claimed = (await _store.GetProgressAsync(name, cancellationToken).ConfigureAwait(false))
                .ToDictionary(p => (p.Rack, p.BinWidthNs), p => p.Period);
            var busyRacks = new HashSet<string>(mine.Where(r => _runningRacks.ContainsKey(r) || _captures.IsBusy(r)), StringComparer.Ordinal);
            SweepPlan plan = SweepPlanner.Plan(sweep, mine, claimed, busyRacks, _runningPerSweep.GetValueOrDefault(name), now);
            busy.AddRange(plan.Busy);
            over.AddRange(plan.OverBudget);
            foreach (PlannedStart s in plan.Start)
            {
                if (await StartAsync(s, cancellationToken).ConfigureAwait(false))
                {
                    started.Add(s);
                }
                else
                {
                    busy.Add(s);
                }
            }
        }

        // Leases of sweeps deleted or paused, or of racks no longer here: give them up so another coordinator may take them.
        foreach (string lease in _leaseRenewed.Keys.Where(l => !wanted.Contains(l)).ToList())
        {
            await _leases.ReleaseLeaseAsync(lease, Holder, cancellationToken).ConfigureAwait(false);
            _leaseRenewed.Remove(lease);
        }

        foreach (PlannedStart s in busy)
        {
            LogSkippedBusy(_logger, s.Sweep, s.Rack, s.BinWidthNs);
        }

        return new SweepTickResult(started, busy, over, elsewhere);
    }

    /// <summary>Waits for every started capture to end and its summary to be stored.</summary>
    public Task DrainAsync() => Task.WhenAll(_completions.Keys);

    /// <summary>Gives up every lease this scheduler holds (a coordinator stopping), so another takes over at once.</summary>
    public async Task ReleaseAllAsync(CancellationToken cancellationToken)
    {
        foreach (string lease in _leaseRenewed.Keys.ToList())
        {
            await _leases.ReleaseLeaseAsync(lease, Holder, cancellationToken).ConfigureAwait(false);
            _leaseRenewed.Remove(lease);
        }
    }

    private async Task<bool> HoldLeaseAsync(string lease, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // Renew a third of the way through, so a lease never lapses between steps while this coordinator lives.
        if (_leaseRenewed.TryGetValue(lease, out DateTimeOffset renewed) && now - renewed < LeaseDuration / 3)
        {
            return true;
        }

        if (await _leases.TryAcquireLeaseAsync(lease, Holder, LeaseDuration, cancellationToken).ConfigureAwait(false))
        {
            if (!_leaseRenewed.ContainsKey(lease))
            {
                LogLeaseTaken(_logger, lease, Holder);
            }

            _leaseRenewed[lease] = now;
            return true;
        }

        _leaseRenewed.Remove(lease);
        return false;
    }

    private async Task<bool> StartAsync(PlannedStart s, CancellationToken cancellationToken)
    {
        if (!await _store.ClaimPeriodAsync(s.Sweep, s.Rack, s.BinWidthNs, s.Period, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }

        _runningRacks[s.Rack] = true;
        _runningPerSweep.AddOrUpdate(s.Sweep, 1, (_, n) => n + 1);
        string? captureId;
        try
        {
            captureId = await _captures.StartAsync(s, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogStartFailed(_logger, ex, s.Sweep, s.Rack, s.BinWidthNs);
            captureId = null;
        }

        if (captureId is null)
        {
            // Busy after all (an engineer's capture came first): the period is given up, as the planner's busy skip would.
            Ended(s);
            return false;
        }

        LogStarted(_logger, s.Sweep, s.Rack, s.BinWidthNs, s.Period, captureId);
        Task completion = CompleteAsync(captureId, s);
        _completions[completion] = true;
        _ = completion.ContinueWith(t => _completions.TryRemove(t, out _), TaskScheduler.Default);
        return true;
    }

    private async Task CompleteAsync(string captureId, PlannedStart s)
    {
        try
        {
            SweepSummary? summary = await _captures.CompleteAsync(captureId, s, CancellationToken.None).ConfigureAwait(false);
            if (summary is not null)
            {
                await _store.SaveSummaryAsync(summary, CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            LogSummaryFailed(_logger, ex, captureId);
        }
        finally
        {
            Ended(s);
        }
    }

    private void Ended(PlannedStart s)
    {
        _runningRacks.TryRemove(s.Rack, out _);
        _runningPerSweep.AddOrUpdate(s.Sweep, 0, (_, n) => Math.Max(0, n - 1));
    }
}
