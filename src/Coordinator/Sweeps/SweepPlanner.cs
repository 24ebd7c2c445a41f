using System.Text;
using System.Text.RegularExpressions;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;

namespace Millisampler.Coordinator.Sweeps;

/// <summary>One capture a sweep should start now: a rack at one width, for period <see cref="Period"/>.</summary>
internal sealed record PlannedStart(string Sweep, string Rack, long BinWidthNs, uint Bins, long Period, DateTimeOffset DueAt);

/// <summary>What one planning step decided.</summary>
/// <param name="Start">Captures to start now, earliest due first.</param>
/// <param name="Busy">Due slots whose rack was busy with another capture: skipped this step, retried next step while their period lasts.</param>
/// <param name="OverBudget">Due slots left for a later step because the sweep's concurrency budget was used up.</param>
internal sealed record SweepPlan(IReadOnlyList<PlannedStart> Start, IReadOnlyList<PlannedStart> Busy, IReadOnlyList<PlannedStart> OverBudget);

/// <summary>
/// When a sweep samples which rack at which width: pure logic, no clock and no I/O, so it is tested with plain times.
/// <para>
/// Time is cut into periods. Each (rack, width) slot has a fixed offset within the period and, per period, a jitter
/// in [0, jitter): it is due at <c>k·period + offset + jitter(k)</c> and done for period k once claimed (started or
/// given up). Staggered sweeps spread their racks' offsets over the period by a stable hash of the rack name;
/// fleet-synchronized sweeps give every rack offset 0 (per width), so all racks sample the same instant. The widths
/// of one rack are spaced by period / widths, since a rack runs one capture at a time. A period missed entirely
/// (coordinator down, sweep paused, rack busy to the end) is not made up: the slot waits for the next one.
/// </para>
/// <para>
/// Priority: a sweep never takes a rack from engineers' captures or triggers. A slot whose rack is busy (a capture
/// running or queued) is skipped for this step and tried again at the next, until its period ends; sweep captures
/// never queue. At most <c>max_concurrent</c> captures of a sweep run at once.
/// </para>
/// </summary>
internal static class SweepPlanner
{
    /// <summary>Concurrency budget when a definition says 0.</summary>
    public const int DefaultMaxConcurrent = 4;

    /// <summary>The racks of <paramref name="known"/> a sweep selects, sorted.</summary>
    public static IReadOnlyList<string> SelectRacks(SweepRacks? selector, IEnumerable<string> known)
    {
        IEnumerable<string> racks = known.Distinct(StringComparer.Ordinal);
        if (selector is null || selector.All)
        {
            return [.. racks.Order(StringComparer.Ordinal)];
        }

        if (selector.Names.Count > 0)
        {
            var wanted = new HashSet<string>(selector.Names, StringComparer.Ordinal);
            return [.. racks.Where(wanted.Contains).Order(StringComparer.Ordinal)];
        }

        Regex glob = Glob(selector.Pattern);
        return [.. racks.Where(r => glob.IsMatch(r)).Order(StringComparer.Ordinal)];
    }

    /// <summary>A rack-name glob: <c>*</c> any run of characters, <c>?</c> one character, everything else literal.</summary>
    public static Regex Glob(string pattern) =>
        new("^" + Regex.Escape(pattern).Replace("\\*", ".*", StringComparison.Ordinal).Replace("\\?", ".", StringComparison.Ordinal) + "$",
            RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));

    /// <summary>Offset of a slot within the period, ns.</summary>
    public static long OffsetNs(SweepDefinition d, string rack, int widthIndex)
    {
        long period = d.PeriodNs;
        long widthSpacing = period / Math.Max(1, d.Widths.Count) * widthIndex;
        long rackOffset = d.Alignment == SweepAlignment.FleetSynchronized ? 0 : (long)(Hash($"{d.Name}/{rack}") % (ulong)period);
        return (rackOffset + widthSpacing) % period;
    }

    /// <summary>
    /// The jitter of a slot in period <paramref name="period"/>: pseudo-random in [0, jitter), whole milliseconds, the
    /// same on every coordinator and after a restart.
    /// </summary>
    public static long JitterNs(SweepDefinition d, string rack, long binWidthNs, long period)
    {
        const long Ms = 1_000_000;
        long steps = d.JitterNs / Ms;
        return steps <= 0 ? 0 : (long)(Hash($"{d.Name}/{rack}/{binWidthNs}/{period}") % (ulong)steps) * Ms;
    }

    /// <summary>The period a slot is in at <paramref name="nowUnixNs"/>.</summary>
    public static long CurrentPeriod(SweepDefinition d, string rack, int widthIndex, long nowUnixNs) =>
        FloorDiv(nowUnixNs - OffsetNs(d, rack, widthIndex), d.PeriodNs);

    /// <summary>When a slot is due in period <paramref name="period"/>, unix ns.</summary>
    public static long DueUnixNs(SweepDefinition d, string rack, int widthIndex, long period) =>
        (period * d.PeriodNs) + OffsetNs(d, rack, widthIndex) + JitterNs(d, rack, d.Widths[widthIndex].BinWidthNs, period);

    /// <summary>True when <paramref name="t"/> lies in the daily window (UTC), or there is none.</summary>
    public static bool InWindow(SweepWindow? window, DateTimeOffset t)
    {
        if (window is null || window.StartMinute == window.EndMinute)
        {
            return true;
        }

        int minute = (int)t.UtcDateTime.TimeOfDay.TotalMinutes;
        return window.StartMinute < window.EndMinute
            ? minute >= window.StartMinute && minute < window.EndMinute
            : minute >= window.StartMinute || minute < window.EndMinute;
    }

    /// <summary>
    /// What <paramref name="sweep"/> should start at <paramref name="now"/>.
    /// </summary>
    /// <param name="racks">The racks it selects that this coordinator may sample (lease held).</param>
    /// <param name="claimed">Last period claimed per (rack, width); missing = none.</param>
    /// <param name="busyRacks">Racks with a capture running or queued (engineers', triggers', or this coordinator's sweeps).</param>
    /// <param name="running">Captures of this sweep running now.</param>
    public static SweepPlan Plan(Sweep sweep, IReadOnlyCollection<string> racks,
        IReadOnlyDictionary<(string Rack, long BinWidthNs), long> claimed, IReadOnlySet<string> busyRacks, int running,
        DateTimeOffset now)
    {
        SweepDefinition d = sweep.Definition;
        if (sweep.Paused || d.PeriodNs <= 0 || !InWindow(d.Window, now))
        {
            return new SweepPlan([], [], []);
        }

        long nowNs = TimeNs.FromUnix(now);
        var due = new List<PlannedStart>();
        foreach (string rack in racks)
        {
            for (int i = 0; i < d.Widths.Count; i++)
            {
                SweepWidth w = d.Widths[i];
                long period = CurrentPeriod(d, rack, i, nowNs);
                long dueNs = DueUnixNs(d, rack, i, period);
                long last = claimed.TryGetValue((rack, w.BinWidthNs), out long p) ? p : long.MinValue;
                if (dueNs <= nowNs && last < period)
                {
                    due.Add(new PlannedStart(d.Name, rack, w.BinWidthNs, w.Bins, period, TimeNs.ToUnix(dueNs)));
                }
            }
        }

        int budget = Math.Max(0, (d.MaxConcurrent == 0 ? DefaultMaxConcurrent : (int)d.MaxConcurrent) - running);
        var start = new List<PlannedStart>();
        var busy = new List<PlannedStart>();
        var over = new List<PlannedStart>();
        var taken = new HashSet<string>(StringComparer.Ordinal);
        foreach (PlannedStart s in due.OrderBy(s => s.DueAt).ThenBy(s => s.Rack, StringComparer.Ordinal).ThenBy(s => s.BinWidthNs))
        {
            if (busyRacks.Contains(s.Rack) || taken.Contains(s.Rack))
            {
                busy.Add(s);
            }
            else if (start.Count >= budget)
            {
                over.Add(s);
            }
            else
            {
                start.Add(s);
                taken.Add(s.Rack);
            }
        }

        return new SweepPlan(start, busy, over);
    }

    private static long FloorDiv(long a, long b) => (a / b) - (((a % b) != 0 && ((a < 0) ^ (b < 0))) ? 1 : 0);

    /// <summary>FNV-1a, 64 bits: stable across processes and versions (string.GetHashCode is randomized per process).</summary>
    private static ulong Hash(string s)
    {
        ulong h = 14695981039346656037;
        foreach (byte b in Encoding.UTF8.GetBytes(s))
        {
            h = (h ^ b) * 1099511628211;
        }

        return h;
    }
}
