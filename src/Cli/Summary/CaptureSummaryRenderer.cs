using System.Globalization;
using Millisampler.Cli.Output;
using Millisampler.Common.Text;
using Millisampler.Contracts.V1;
using Spectre.Console;

namespace Millisampler.Cli.Summary;

/// <summary>
/// A capture as a person reads it: coverage and each host's outcome, the top bursts, the contention distribution,
/// the synchronized events (bins as time offsets) and the hosts whose alignment is in doubt. Definitions:
/// docs/analysis.md. Writes only to the console it is given.
/// </summary>
public sealed class CaptureSummaryRenderer(IAnsiConsole console)
{
    /// <summary>Bursts listed, largest first.</summary>
    public const int TopBursts = 10;

    /// <summary>Events listed before the list is cut to the largest.</summary>
    public const int MaxEvents = 20;

    /// <summary>Hosts named in one cell before the rest are counted.</summary>
    public const int MaxHostsInCell = 6;

    private const int HistogramWidth = 30;

    private static readonly Style Heading = new(decoration: Decoration.Bold);
    private static readonly Style Warning = new(Color.Yellow);
    private static readonly Style Failure = new(Color.Red);

    /// <summary>Writes the summary of <paramref name="capture"/>.</summary>
    /// <param name="capture">The capture, with its analysis when there is one.</param>
    /// <param name="title">First line; null = "Capture ID on rack R: state".</param>
    public void Render(Capture capture, string? title = null)
    {
        ArgumentNullException.ThrowIfNull(capture);
        RenderHeader(capture, title);
        RenderHosts(capture);
        if (capture.Analysis is { } analysis)
        {
            long w = capture.BinWidthNs;
            RenderBursts(analysis, w);
            RenderContention(analysis);
            RenderEvents(analysis, w);
            RenderIncidents(analysis, w);
            RenderStalls(analysis, w);
            RenderAlignment(analysis, w);
        }
        else if (!CaptureText.IsFinal(capture.State))
        {
            console.Line();
            console.Line($"No analysis yet: the capture is {CaptureText.State(capture.State)}.");
        }
    }

    private void RenderHeader(Capture c, string? title)
    {
        console.Line(title ?? $"Capture {c.CaptureId} on rack {c.Rack}: {CaptureText.State(c.State)}",
            c.State == CaptureState.Failed ? Failure : Heading);
        var parts = new List<string>();
        if (c.Bins > 0 && c.BinWidthNs > 0)
        {
            parts.Add($"{c.Bins} bins x {DurationText.Format(c.BinWidthNs)} ({DurationText.Format(c.Bins * c.BinWidthNs)})");
        }

        if (c.StartTaiNs != 0)
        {
            parts.Add($"bin 0 at {CaptureText.Time(c.StartTaiNs)} TAI");
        }

        if (c.RequestedAtUnixNs != 0)
        {
            parts.Add($"requested {CaptureText.Time(c.RequestedAtUnixNs)} UTC");
        }

        if (c.CompletedAtUnixNs != 0)
        {
            parts.Add($"completed {CaptureText.Time(c.CompletedAtUnixNs)} UTC");
        }

        if (parts.Count > 0)
        {
            console.Line("  " + string.Join("; ", parts));
        }

        if (!string.IsNullOrEmpty(c.Detail))
        {
            console.Line($"  {(c.State == CaptureState.Failed ? "failed" : "note")}: {c.Detail}",
                c.State == CaptureState.Failed ? Failure : Warning);
        }
    }

    private void RenderHosts(Capture c)
    {
        int requested = c.HostsRequested > 0 ? (int)c.HostsRequested : c.Hosts.Count;
        console.Line();
        console.Line($"Hosts: {c.HostsCovered} of {requested} covered", Heading);
        if (c.Hosts.Count == 0)
        {
            return;
        }

        var hosts = c.Hosts.OrderBy(h => h.Host, StringComparer.Ordinal).ToList();
        var rows = hosts.Select(h =>
        {
            bool data = CaptureText.HasData(h.Outcome);
            return new[]
            {
                h.Host,
                CaptureText.Outcome(h.Outcome),
                c.Bins > 0 ? $"{h.BinsCovered}/{c.Bins}" : h.BinsCovered.ToString(CultureInfo.InvariantCulture),
                h.LinkSpeedBitsPerSecond > 0 ? RateText.Format(h.LinkSpeedBitsPerSecond) : "-",
                h.ClockErrorNs < 0 ? "unknown" : data || h.ClockErrorNs > 0 ? DurationText.Format(h.ClockErrorNs) : "-",
                MeasuredOffset(h),
                Alignment(h, data),
                h.Reason,
            };
        }).ToList();
        string[] headers = ["HOST", "OUTCOME", "BINS", "LINK", "CLOCK ERROR", "MEASURED OFFSET", "ALIGNMENT", "REASON"];
        Table table = CliConsole.FittedTable(console, headers, rows, headers.Length - 1, out IReadOnlyList<int> shortened, out bool fits);
        if (fits)
        {
            console.Write(table);
            WriteInFull(console, shortened.Select(i => (hosts[i].Host, hosts[i].Reason)));
            WriteOffsetLegend(hosts, c.BinWidthNs);
            return;
        }

        // Too narrow for the columns (a long host name on 80 columns): one block per host, the name on its own line.
        foreach (string[] row in rows)
        {
            console.Line(row[0], Heading);
            var facts = new List<string> { row[1], $"{row[2]} bins" };
            facts.AddRange(new[] { ("link", row[3]), ("clock error", row[4]), ("measured offset", row[5]), ("alignment", row[6]) }
                .Where(f => f.Item2 != "-").Select(f => $"{f.Item1} {f.Item2}"));
            console.Line("  " + string.Join(", ", facts));
            if (row[7].Length > 0)
            {
                console.Line("  reason: " + row[7]);
            }
        }

        WriteOffsetLegend(hosts, c.BinWidthNs);
    }

    /// <summary>
    /// The coordinator's own measurement of the host's clock (agent minus coordinator, NTP-style from the four timestamps
    /// of a call it made anyway), to the microsecond: "+100.012ms ± 350us"; "-" when it has none.
    /// </summary>
    internal static string MeasuredOffset(HostOutcome h)
    {
        if (!h.OffsetMeasured)
        {
            return "-";
        }

        long offsetUs = (long)Math.Round(h.MeasuredOffsetNs / 1_000.0, MidpointRounding.AwayFromZero);
        long boundUs = (Math.Max(h.MeasuredOffsetBoundNs, 0) + 999) / 1_000;
        string Us(long us) => us == 0 ? "0us" : DurationText.Format(us * 1_000);
        return $"{(offsetUs > 0 ? "+" : "")}{Us(offsetUs)} ± {Us(boundUs)}";
    }

    /// <summary>"ok"; "UNTRUSTED" for a self-reported clock error above half a bin or unknown; "OFFSET" when the measured offset exceeds half a bin beyond its bound; both joined.</summary>
    private static string Alignment(HostOutcome h, bool data)
    {
        if (!data)
        {
            return h.OffsetExceedsHalfBin ? "OFFSET" : "-";
        }

        return (h.AlignmentTrusted, h.OffsetExceedsHalfBin) switch
        {
            (true, false) => "ok",
            (false, false) => "UNTRUSTED",
            (true, true) => "OFFSET",
            (false, true) => "UNTRUSTED, OFFSET",
        };
    }

    private void WriteOffsetLegend(IReadOnlyList<HostOutcome> hosts, long w)
    {
        var flagged = hosts.Where(h => h.OffsetExceedsHalfBin).Select(h => h.Host).ToList();
        if (flagged.Count == 0)
        {
            return;
        }

        string half = w > 0 ? DurationText.Format(w / 2) : "half a bin";
        console.Line($"OFFSET: the coordinator measured the clock of {HostList(flagged, 20)} more than half a bin ({half}) off, beyond the measurement's bound;"
            + " their bins may sit one bin off whatever their own clock error says.", Warning);
    }

    /// <summary>The reasons a table had to shorten, each on its own line (a terminal wraps them; nothing is lost).</summary>
    internal static void WriteInFull(IAnsiConsole console, IEnumerable<(string Host, string Reason)> reasons)
    {
        bool first = true;
        foreach ((string host, string reason) in reasons)
        {
            if (first)
            {
                console.Line("Reasons in full:");
                first = false;
            }

            string line = $"  {host}: {reason}";
            int width = console.Profile.Width;

            // In a pipe or a file a reason stays on one line, for grep; a terminal wraps it at word boundaries.
            if (!console.Profile.Capabilities.Ansi && line.GetCellWidth() > width)
            {
                console.Profile.Width = line.GetCellWidth();
            }

            console.Line(line);
            console.Profile.Width = width;
        }
    }

    private void RenderBursts(CaptureAnalysis a, long w)
    {
        console.Line();
        string theta = a.BurstThreshold.ToString("0.###", CultureInfo.InvariantCulture);
        if (a.Bursts.Count == 0)
        {
            console.Line($"Bursts: none (no bin at or above θ = {theta} of line rate)", Heading);
            return;
        }

        int shown = Math.Min(TopBursts, a.Bursts.Count);
        console.Line($"Bursts: {a.Bursts.Count} at or above θ = {theta} of line rate; "
            + (shown < a.Bursts.Count ? $"the {shown} largest by bytes:" : "largest first:"), Heading);
        Table table = CliConsole.NewTable(console, "HOST", "BIN", "START", "LENGTH", "BYTES", "PEAK UTIL", "CE", "RETX", "CONNS", "MET (MAX/MEAN)");
        foreach (Burst b in a.Bursts.OrderByDescending(b => b.Bytes).ThenBy(b => b.StartBin).ThenBy(b => b.Host, StringComparer.Ordinal).Take(shown))
        {
            table.AddPlainRow(
                b.Host,
                b.StartBin.ToString(CultureInfo.InvariantCulture),
                Offset(b.StartBin, w),
                Length(b.LengthBins, w),
                SizeText.Bytes(b.Bytes),
                SizeText.Percent(b.PeakUtilization),
                SizeText.Bytes(b.CeBytes),
                SizeText.Bytes(b.RetransmitBytes),
                b.PeakConnections.ToString(CultureInfo.InvariantCulture),
                $"{b.MaxContention} / {b.MeanContention.ToString("0.0", CultureInfo.InvariantCulture)}");
        }

        console.Write(table);
    }

    private void RenderContention(CaptureAnalysis a)
    {
        if (a.ContentionLevels.Count == 0)
        {
            return;
        }

        console.Line();
        console.Line("Contention: bins by hosts bursting at once; bursts by the most other hosts they met", Heading);
        ulong totalBins = 0;
        uint maxBins = 0;
        foreach (ContentionLevel l in a.ContentionLevels)
        {
            totalBins += l.Bins;
            maxBins = Math.Max(maxBins, l.Bins);
        }

        char bar = console.Profile.Capabilities.Unicode ? '█' : '#';
        Table table = CliConsole.NewTable(console, "LEVEL", "BINS", "SHARE", "HISTOGRAM", "BURSTS", "WITH CE", "WITH RETX");
        foreach (ContentionLevel l in a.ContentionLevels.OrderBy(l => l.Level))
        {
            // Every non-empty level gets at least one mark, so a rare level is visible next to level 0.
            int marks = maxBins == 0 || l.Bins == 0 ? 0 : Math.Max(1, (int)Math.Round((double)l.Bins / maxBins * HistogramWidth, MidpointRounding.AwayFromZero));
            table.AddPlainRow(
                l.Level.ToString(CultureInfo.InvariantCulture),
                l.Bins.ToString(CultureInfo.InvariantCulture),
                totalBins == 0 ? "-" : SizeText.Percent((double)l.Bins / totalBins),
                new string(bar, marks),
                l.Bursts.ToString(CultureInfo.InvariantCulture),
                l.Bursts == 0 ? "-" : $"{l.BurstsWithCe} ({SizeText.Percent(l.CeFraction)})",
                l.Bursts == 0 ? "-" : $"{l.BurstsWithRetransmits} ({SizeText.Percent(l.RetransmitFraction)})");
        }

        console.Write(table);
    }

    private void RenderEvents(CaptureAnalysis a, long w)
    {
        console.Line();
        if (a.Events.Count == 0)
        {
            console.Line($"Synchronized events: none (no bin with {a.EventMinHosts} or more hosts bursting at once)", Heading);
            return;
        }

        IEnumerable<SyncEvent> events = a.Events;
        string which = "in time order";
        if (a.Events.Count > MaxEvents)
        {
            events = a.Events.OrderByDescending(e => e.Bytes).ThenBy(e => e.StartBin).Take(MaxEvents);
            which = $"the {MaxEvents} largest by bytes, in time order";
        }

        console.Line($"Synchronized events: {a.Events.Count} ({a.EventMinHosts} or more hosts bursting at once); {which}:", Heading);
        Table table = CliConsole.NewTable(console, "BIN", "START", "LENGTH", "HOSTS", "BYTES", "CE", "RETX", "PEAK RACK INGRESS", "OF CAPACITY", "PEAK LEVEL");
        foreach (SyncEvent e in events.OrderBy(e => e.StartBin))
        {
            table.AddPlainRow(
                e.StartBin.ToString(CultureInfo.InvariantCulture),
                Offset(e.StartBin, w),
                Length(e.LengthBins, w),
                HostList(e.Hosts),
                SizeText.Bytes(e.Bytes),
                SizeText.Bytes(e.CeBytes),
                SizeText.Bytes(e.RetransmitBytes),
                $"{RateText.Format(e.PeakRackIngressBitsPerSecond)} of {RateText.Format(e.RackLinkCapacityBitsPerSecond)}",
                e.RackLinkCapacityBitsPerSecond > 0 ? SizeText.Percent(e.PeakRackIngressBitsPerSecond / e.RackLinkCapacityBitsPerSecond) : "-",
                e.PeakContention.ToString(CultureInfo.InvariantCulture));
        }

        console.Write(table);
    }

    private void RenderIncidents(CaptureAnalysis a, long w)
    {
        if (a.Incidents.Count == 0)
        {
            return;
        }

        console.Line();
        string gap = w > 0 ? DurationText.Format(a.IncidentGapBins * w) : $"{a.IncidentGapBins} bins";
        console.Line($"Incidents: {a.Incidents.Count} (events less than {gap} apart grouped)", Heading);
        Table table = CliConsole.NewTable(console, "BIN", "START", "LENGTH", "EVENTS", "HOSTS", "BYTES", "CE", "RETX", "PEAK LEVEL");
        foreach (Incident i in a.Incidents.OrderByDescending(i => i.Bytes).Take(MaxEvents).OrderBy(i => i.StartBin))
        {
            table.AddPlainRow(
                i.StartBin.ToString(CultureInfo.InvariantCulture),
                Offset(i.StartBin, w),
                Length(i.LengthBins, w),
                i.Events.Count.ToString(CultureInfo.InvariantCulture),
                HostList(i.Hosts),
                SizeText.Bytes(i.Bytes),
                SizeText.Bytes(i.CeBytes),
                SizeText.Bytes(i.RetransmitBytes),
                i.PeakContention.ToString(CultureInfo.InvariantCulture));
        }

        console.Write(table);
    }

    private void RenderStalls(CaptureAnalysis a, long w)
    {
        if (a.IngressStalls.Count == 0)
        {
            return;
        }

        console.Line();
        console.Line($"Ingress stalls: {a.IngressStalls.Count} (no bytes received between busy bins while the host kept sending)", Warning);
        Table table = CliConsole.NewTable(console, "HOST", "BIN", "START", "LENGTH", "INGRESS AROUND (PER BIN)", "EGRESS DURING");
        foreach (IngressStall st in a.IngressStalls.Take(MaxEvents))
        {
            table.AddPlainRow(
                st.Host,
                st.StartBin.ToString(CultureInfo.InvariantCulture),
                Offset(st.StartBin, w),
                Length(st.LengthBins, w),
                SizeText.Bytes((ulong)st.IngressBytesAround),
                SizeText.Bytes(st.EgressBytes));
        }

        console.Write(table);
    }

    private void RenderAlignment(CaptureAnalysis a, long w)
    {
        console.Line();
        string half = w > 0 ? DurationText.Format(w / 2) : "half a bin";
        if (a.UntrustedAlignmentHosts.Count == 0)
        {
            console.Line($"Alignment: every host's clock error is within half a bin ({half}).");
            return;
        }

        console.Line($"Untrusted alignment: {a.UntrustedAlignmentHosts.Count} host(s) with clock error above half a bin ({half}) or unknown: "
            + HostList(a.UntrustedAlignmentHosts, 20), Warning);
        console.Line("  Their bins may sit one bin off; doubt contention and events that involve them.");
    }

    private static string Offset(uint bin, long w) => w > 0 ? DurationText.FormatOffset(bin * w) : "-";

    private static string Length(uint bins, long w) => w > 0 ? DurationText.Format(bins * w) : $"{bins} bins";

    private static string HostList(IReadOnlyCollection<string> hosts, int max = MaxHostsInCell) =>
        hosts.Count <= max
            ? string.Join(",", hosts)
            : string.Join(",", hosts.Take(max)) + $" (+{hosts.Count - max} more)";
}
