using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Millisampler.Cli.Connection;
using Millisampler.Cli.Output;
using Millisampler.Cli.Summary;
using Millisampler.Common.Text;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;
using Spectre.Console;

namespace Millisampler.Cli.Sweeps;

/// <summary><c>sweeps create|list|show|pause|resume|delete|report</c>: scheduled contention sweeps and what they found.</summary>
internal static class SweepsCommand
{
    public static Command Create(CliEnvironment env) => new("sweeps", "Scheduled contention sweeps: definitions, trends and rankings")
    {
        CreateCreate(env),
        CreateList(env),
        NameCommand(env, "show", "Show one sweep", (c, n, t) => c.GetSweepAsync(n, cancellationToken: t).ResponseAsync),
        NameCommand(env, "pause", "Pause a sweep (no new captures until resumed)", (c, n, t) => c.PauseSweepAsync(n, cancellationToken: t).ResponseAsync),
        NameCommand(env, "resume", "Resume a paused sweep", (c, n, t) => c.ResumeSweepAsync(n, cancellationToken: t).ResponseAsync),
        CreateDelete(env),
        CreateReport(env),
    };

    private static Command CreateCreate(CliEnvironment env)
    {
        CoordinatorOptions coordinator = CommonOptions.Coordinator(env);
        Argument<string> name = new("NAME") { Description = "Sweep name: letters, digits, '-', '_', '.'" };
        Option<bool> allRacks = new("--all-racks") { Description = "Every rack (the default when neither --racks nor --pattern is given)" };
        Option<string[]> racks = CommonOptions.NameList("--racks", "These racks, comma-separated", "racks");
        Option<string> pattern = new("--pattern") { Description = "Racks whose name matches this glob: * any characters, ? one", HelpName = "glob" };
        Option<string[]> widths = new("--width")
        {
            Description = "Bin width and bin count, WIDTH:BINS with WIDTH 100us, 1ms or 10ms; repeat for several [default: 1ms:2000]",
            HelpName = "width:bins",
            Arity = ArgumentArity.OneOrMore,
            AllowMultipleArgumentsPerToken = false,
        };
        Option<long?> period = CommonOptions.Duration("--period", "Every rack at every width once per period, at least 1m [default: 1h]", "15m, 1h, 1d");
        Option<long?> jitter = CommonOptions.Duration("--jitter", "Delay each start by a random amount below this [default: 0]", "30s, 5m");
        Option<bool> synchronized = new("--synchronized") { Description = "Fleet-synchronized: every rack at the same instant (default: staggered over the period)" };
        Option<int?> maxConcurrent = CommonOptions.Count("--max-concurrent", "Sweep captures running at once per coordinator [default: 4]", "n", 1, 1000);
        Option<string> window = new("--window") { Description = "Only inside this daily UTC window, HH:MM-HH:MM (may wrap past midnight)", HelpName = "window" };
        Option<OutputFormat?> output = CommonOptions.Output();
        var command = new Command("create", "Create a sweep")
        {
            name, coordinator, allRacks, racks, pattern, widths, period, jitter, synchronized, maxConcurrent, window, output,
        };
        command.SetAction(async (r, ct) =>
        {
            var d = new SweepDefinition
            {
                Name = r.GetValue(name)!,
                PeriodNs = r.GetValue(period) ?? 3_600_000_000_000,
                JitterNs = r.GetValue(jitter) ?? 0,
                Alignment = r.GetValue(synchronized) ? SweepAlignment.FleetSynchronized : SweepAlignment.Staggered,
                MaxConcurrent = (uint)(r.GetValue(maxConcurrent) ?? 0),
                Racks = Racks(r.GetValue(allRacks), r.GetValue(racks) ?? [], r.GetValue(pattern)),
            };
            string[] widthTexts = r.GetValue(widths) ?? [];
            d.Widths.AddRange(widthTexts.Length == 0 ? [new SweepWidth { BinWidthNs = 1_000_000, Bins = 2000 }] : widthTexts.Select(ParseWidth));
            if (r.GetValue(window) is { Length: > 0 } w)
            {
                d.Window = ParseWindow(w);
            }

            using CoordinatorConnection conn = coordinator.Open(r);
            Sweep sweep = await conn.CallSweepsAsync((c, t) => c.CreateSweepAsync(new CreateSweepRequest { Definition = d }, cancellationToken: t).ResponseAsync, ct)
                .ConfigureAwait(false);
            Print(env, r.OutputOf(output), sweep);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateList(CliEnvironment env)
    {
        CoordinatorOptions coordinator = CommonOptions.Coordinator(env);
        Option<OutputFormat?> output = CommonOptions.Output(csv: true);
        var command = new Command("list", "List sweeps") { coordinator, output };
        command.SetAction(async (r, ct) =>
        {
            using CoordinatorConnection conn = coordinator.Open(r);
            ListSweepsResponse list = await conn.CallSweepsAsync((c, t) => c.ListSweepsAsync(new ListSweepsRequest(), cancellationToken: t).ResponseAsync, ct)
                .ConfigureAwait(false);
            if (r.OutputOf(output) == OutputFormat.Json)
            {
                CliConsole.WriteJson(env.Stdout, list);
                return ExitCodes.Ok;
            }

            if (r.OutputOf(output) == OutputFormat.Csv)
            {
                CsvOutput.Write(env.Stdout, ["name", "state", "racks", "widths", "period_ns", "jitter_ns", "alignment", "max_concurrent", "window"],
                    list.Sweeps.Select(s => (IReadOnlyList<string>)
                    [
                        s.Definition.Name, s.Paused ? "paused" : "active", RacksText(s.Definition.Racks), WidthsText(s.Definition),
                        CsvOutput.Number(s.Definition.PeriodNs), CsvOutput.Number(s.Definition.JitterNs), AlignmentText(s.Definition.Alignment),
                        CsvOutput.Number(s.Definition.MaxConcurrent), WindowText(s.Definition.Window),
                    ]));
                return ExitCodes.Ok;
            }

            IAnsiConsole console = CliConsole.Create(env.Stdout, env.StdoutIsTerminal);
            if (list.Sweeps.Count == 0)
            {
                console.Line("No sweeps: millisampler sweeps create NAME --width 1ms:2000 --period 1h");
                return ExitCodes.Ok;
            }

            Table table = CliConsole.NewTable(console, "NAME", "STATE", "RACKS", "WIDTHS", "PERIOD", "JITTER", "ALIGNMENT", "MAX", "WINDOW");
            foreach (Sweep s in list.Sweeps)
            {
                table.AddPlainRow(s.Definition.Name, s.Paused ? "paused" : "active", RacksText(s.Definition.Racks), WidthsText(s.Definition),
                    DurationText.Format(s.Definition.PeriodNs), DurationText.Format(s.Definition.JitterNs), AlignmentText(s.Definition.Alignment),
                    s.Definition.MaxConcurrent.ToString(CultureInfo.InvariantCulture), WindowText(s.Definition.Window));
            }

            console.Write(table);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command NameCommand(CliEnvironment env, string verb, string description,
        Func<SweepService.SweepServiceClient, SweepName, CancellationToken, Task<Sweep>> call)
    {
        CoordinatorOptions coordinator = CommonOptions.Coordinator(env);
        Argument<string> name = new("NAME") { Description = "Sweep name (sweeps list shows them)" };
        Option<OutputFormat?> output = CommonOptions.Output();
        var command = new Command(verb, description) { name, coordinator, output };
        command.SetAction(async (r, ct) =>
        {
            using CoordinatorConnection conn = coordinator.Open(r);
            Sweep sweep = await conn.CallSweepsAsync((c, t) => call(c, new SweepName { Name = r.GetValue(name)! }, t), ct).ConfigureAwait(false);
            Print(env, r.OutputOf(output), sweep);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateDelete(CliEnvironment env)
    {
        CoordinatorOptions coordinator = CommonOptions.Coordinator(env);
        Argument<string> name = new("NAME") { Description = "Sweep name" };
        var command = new Command("delete", "Delete a sweep (its summaries stay until their retention)") { name, coordinator };
        command.SetAction(async (r, ct) =>
        {
            using CoordinatorConnection conn = coordinator.Open(r);
            await conn.CallSweepsAsync((c, t) => c.DeleteSweepAsync(new SweepName { Name = r.GetValue(name)! }, cancellationToken: t).ResponseAsync, ct)
                .ConfigureAwait(false);
            env.Stdout.WriteLine($"Deleted sweep {r.GetValue(name)}.");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateReport(CliEnvironment env)
    {
        CoordinatorOptions coordinator = CommonOptions.Coordinator(env);
        Option<string> sweep = new("--sweep") { Description = "Only this sweep's captures [default: every sweep]", HelpName = "name" };
        Option<string> rack = new("--rack") { Description = "Trends of this rack, and the rack against its previous period [default: every rack]", HelpName = "rack" };
        Option<long?> width = CommonOptions.Duration("--width", "Only this bin width: 100us, 1ms or 10ms [default: every width]", "100us, 1ms, 10ms");
        Option<long?> since = CommonOptions.Duration("--since", "The period: this long before now (or before --to) [default: 7d]", "1d, 7d, 30d");
        Option<long?> from = CommonOptions.Instant("--from", "The period starts at this UTC time (instead of --since)");
        Option<long?> to = CommonOptions.Instant("--to", "The period ends before this UTC time [default: now]");
        Option<string> bucket = new("--bucket") { Description = "Trend rows per hour or per day [default: day]", HelpName = "hour|day" };
        bucket.AcceptOnlyFromAmong("hour", "day");
        Option<int?> top = CommonOptions.Count("--top", "Rows of each ranking [default: 20]", "n", 1, 10000);
        Option<OutputFormat?> output = CommonOptions.Output();
        var command = new Command("report", "Trends per rack and width, fleet rankings by contention and by contention with loss")
        {
            coordinator, sweep, rack, width, since, from, to, bucket, top, output,
        };
        command.SetAction(async (r, ct) =>
        {
            long end = r.GetValue(to) ?? env.Clock.UnixNowNs();
            if (r.GetValue(from) is not null && r.GetValue(since) is not null)
            {
                throw new UsageException("--from and --since: give only one");
            }

            long start = r.GetValue(from) ?? Math.Max(1, end - (r.GetValue(since) ?? 7L * 24 * 3_600_000_000_000));
            if (start >= end)
            {
                throw new UsageException($"--from {CaptureText.Time(start)} must be before --to {CaptureText.Time(end)}");
            }

            var request = new SweepReportRequest
            {
                Sweep = r.GetValue(sweep) ?? "",
                Rack = r.GetValue(rack) ?? "",
                BinWidthNs = r.GetValue(width) ?? 0,
                ToUnixNs = end,
                FromUnixNs = start,
                Bucket = r.GetValue(bucket) == "hour" ? TrendBucket.Hour : TrendBucket.Day,
                Top = (uint)(r.GetValue(top) ?? 0),
            };
            using CoordinatorConnection conn = coordinator.Open(r);
            SweepReport report = await conn.CallSweepsAsync((c, t) => c.GetSweepReportAsync(request, cancellationToken: t).ResponseAsync, ct)
                .ConfigureAwait(false);
            if (r.OutputOf(output) == OutputFormat.Json)
            {
                CliConsole.WriteJson(env.Stdout, report);
            }
            else
            {
                RenderReport(CliConsole.Create(env.Stdout, env.StdoutIsTerminal), report);
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>The report as tables: trends, both rankings, and the rack against its past.</summary>
    internal static void RenderReport(IAnsiConsole console, SweepReport report)
    {
        console.Line($"Sweep report {CaptureText.Time(report.FromUnixNs)} .. {CaptureText.Time(report.ToUnixNs)} UTC");
        if (report.Trends.Count == 0)
        {
            console.Line("No sweep summaries in this period.");
            return;
        }

        console.Line();
        console.Line("Trends (means over the sweep captures of each bucket)");
        Table trends = CliConsole.NewTable(console, "RACK", "WIDTH", "FROM", "CAPTURES", "BURSTS/HOST-S", "MEAN CONTENTION", "CONTENDED BINS",
            "CONTENDED+LOSS", "CE", "RETRANSMIT", "MAX RACK INGRESS", "SYNC EVENTS");
        foreach (TrendRow t in report.Trends)
        {
            trends.AddPlainRow(t.Rack, DurationText.Format(t.BinWidthNs), CaptureText.Time(t.BucketStartUnixNs), Num(t.Captures),
                t.BurstsPerHostSecond.ToString("0.##", CultureInfo.InvariantCulture), t.MeanContention.ToString("0.###", CultureInfo.InvariantCulture),
                Percent(t.ContendedBinShare), Percent(t.LossyContendedBinShare), Percent(t.CeFraction), Percent(t.RetransmitFraction),
                Percent(t.MaxRackIngressFraction), Num(t.SyncEvents));
        }

        console.Write(trends);
        Ranking(console, "Racks by contention (share of bins with 2+ hosts bursting)", report.ByContention);
        Ranking(console, "Racks by contention with loss (share of bins with 2+ hosts bursting and retransmissions)", report.ByContentionWithLoss);
        if (report.ComparedWithPast.Count > 0)
        {
            console.Line();
            console.Line("Against the previous period of the same length");
            Table past = CliConsole.NewTable(console, "RACK", "WIDTH", "CONTENDED BINS", "BEFORE", "CHANGE", "CONTENDED+LOSS", "BEFORE", "CHANGE");
            foreach (RackComparison c in report.ComparedWithPast)
            {
                past.AddPlainRow(c.Rack, DurationText.Format(c.BinWidthNs), Percent(c.Current.ContendedBinShare), Percent(c.Previous.ContendedBinShare),
                    Points(c.ContendedBinShareChange), Percent(c.Current.LossyContendedBinShare), Percent(c.Previous.LossyContendedBinShare),
                    Points(c.LossyContendedBinShareChange));
            }

            console.Write(past);
        }
    }

    private static void Ranking(IAnsiConsole console, string title, IEnumerable<RankRow> rows)
    {
        console.Line();
        console.Line(title);
        Table table = CliConsole.NewTable(console, "RANK", "RACK", "VALUE", "CAPTURES");
        foreach (RankRow r in rows)
        {
            table.AddPlainRow(Num(r.Rank), r.Rack, Percent(r.Value), Num(r.Captures));
        }

        console.Write(table);
    }

    private static void Print(CliEnvironment env, OutputFormat format, Sweep s)
    {
        if (format == OutputFormat.Json)
        {
            CliConsole.WriteJson(env.Stdout, s);
            return;
        }

        SweepDefinition d = s.Definition;
        IAnsiConsole console = CliConsole.Create(env.Stdout, env.StdoutIsTerminal);
        console.Line($"Sweep {d.Name} ({(s.Paused ? "paused" : "active")})");
        console.Line($"  racks:          {RacksText(d.Racks)}");
        console.Line($"  widths:         {WidthsText(d)}");
        console.Line($"  period:         {DurationText.Format(d.PeriodNs)}, jitter {DurationText.Format(d.JitterNs)}, {AlignmentText(d.Alignment)}");
        console.Line($"  max concurrent: {d.MaxConcurrent}");
        console.Line($"  window (UTC):   {WindowText(d.Window)}");
        if (s.CreatedAtUnixNs > 0)
        {
            console.Line($"  created:        {CaptureText.Time(s.CreatedAtUnixNs)} UTC{(s.CreatedBy.Length > 0 ? " by " + s.CreatedBy : "")}");
        }
    }

    private static SweepRacks Racks(bool all, string[] names, string? pattern)
    {
        int given = (all ? 1 : 0) + (names.Length > 0 ? 1 : 0) + (string.IsNullOrEmpty(pattern) ? 0 : 1);
        if (given > 1)
        {
            throw new UsageException("--all-racks, --racks and --pattern: give only one");
        }

        var racks = new SweepRacks();
        if (names.Length > 0)
        {
            racks.Names.AddRange(names);
        }
        else if (!string.IsNullOrEmpty(pattern))
        {
            racks.Pattern = pattern;
        }
        else
        {
            racks.All = true;
        }

        return racks;
    }

    /// <summary>"1ms:2000" → 1 ms × 2,000 bins.</summary>
    internal static SweepWidth ParseWidth(string text)
    {
        string[] parts = text.Split(':');
        if (parts.Length != 2 || !DurationText.TryParseNs(parts[0], out long ns)
            || !uint.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out uint bins))
        {
            throw new UsageException($"--width: '{text}' must be WIDTH:BINS like 1ms:2000 or 100us:1000");
        }

        return new SweepWidth { BinWidthNs = ns, Bins = bins };
    }

    /// <summary>"22:00-02:30" → minutes 1320 to 150.</summary>
    internal static SweepWindow ParseWindow(string text)
    {
        string[] parts = text.Split('-');
        if (parts.Length == 2 && Minute(parts[0]) is { } start && Minute(parts[1]) is { } end)
        {
            return new SweepWindow { StartMinute = start, EndMinute = end };
        }

        throw new UsageException($"--window: '{text}' must be HH:MM-HH:MM in UTC, like 22:00-04:00");

        static uint? Minute(string hhmm) =>
            TimeOnly.TryParseExact(hhmm.Trim(), "HH:mm", CultureInfo.InvariantCulture, DateTimeStyles.None, out TimeOnly t)
                ? (uint)((t.Hour * 60) + t.Minute)
                : null;
    }

    private static string RacksText(SweepRacks? r) => r is null || r.All ? "all" : r.Names.Count > 0 ? string.Join(",", r.Names) : $"matching {r.Pattern}";

    private static string WidthsText(SweepDefinition d) =>
        string.Join(", ", d.Widths.Select(w => $"{DurationText.Format(w.BinWidthNs)} × {w.Bins}"));

    private static string AlignmentText(SweepAlignment a) => a == SweepAlignment.FleetSynchronized ? "fleet-synchronized" : "staggered";

    private static string WindowText(SweepWindow? w) =>
        w is null || w.StartMinute == w.EndMinute ? "any time" : $"{w.StartMinute / 60:00}:{w.StartMinute % 60:00}-{w.EndMinute / 60:00}:{w.EndMinute % 60:00}";

    private static string Percent(double v) => v.ToString("0.##%", CultureInfo.InvariantCulture);

    private static string Points(double v) => (v * 100).ToString("+0.##;-0.##;0", CultureInfo.InvariantCulture) + " pt";

    private static string Num(uint v) => v.ToString(CultureInfo.InvariantCulture);
}
