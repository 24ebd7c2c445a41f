using System.CommandLine;
using System.Globalization;
using Millisampler.Cli.Connection;
using Millisampler.Cli.Output;
using Millisampler.Common.Text;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;
using Spectre.Console;

namespace Millisampler.Cli.Triggers;

/// <summary><c>triggers</c> (the coordinator's trigger decisions, newest first) and <c>triggers policy</c>.</summary>
internal static class TriggersCommand
{
    public static Command Create(CliEnvironment env)
    {
        CoordinatorOptions coordinator = CommonOptions.Coordinator(env);
        Option<string> rack = new("--rack") { Description = "Only this rack [default: every rack]", HelpName = "rack" };
        Option<long?> since = CommonOptions.Duration("--since", "Only triggers received within this long before now", "30m, 1h, 2d");
        Option<int?> limit = CommonOptions.Count("--limit", "At most this many, newest first [default: the coordinator's, 100]", "n", 1, 1000);
        Option<OutputFormat?> output = CommonOptions.Output(csv: true);
        var command = new Command("triggers", "Triggers the coordinator decided (agents' rules, alerts): what fired, its values, and FIRED, JOINED or REFUSED with why")
        {
            coordinator, rack, since, limit, output, CreatePolicy(env),
        };
        command.SetAction(async (r, ct) =>
        {
            var request = new ListTriggersRequest { Rack = r.GetValue(rack) ?? "", Limit = (uint)(r.GetValue(limit) ?? 0) };
            if (r.GetValue(since) is { } ns)
            {
                request.FromUnixNs = Math.Max(1, env.Clock.UnixNowNs() - ns);
            }

            using CoordinatorConnection conn = coordinator.Open(r);
            ListTriggersResponse response = await conn.CallAsync((c, t) => c.ListTriggersAsync(request, cancellationToken: t).ResponseAsync, ct)
                .ConfigureAwait(false);
            switch (r.OutputOf(output))
            {
                case OutputFormat.Json:
                    CliConsole.WriteJson(env.Stdout, response);
                    break;
                case OutputFormat.Csv:
                    WriteCsv(env.Stdout, response);
                    break;
                default:
                    Render(CliConsole.Create(env.Stdout, env.StdoutIsTerminal), response);
                    break;
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreatePolicy(CliEnvironment env)
    {
        CoordinatorOptions coordinator = CommonOptions.Coordinator(env);
        Option<OutputFormat?> output = CommonOptions.Output();
        var command = new Command("policy", "How the coordinator answers triggers (cooldown, hourly cap, window) and the rule names agents reported under")
        {
            coordinator, output,
        };
        command.SetAction(async (r, ct) =>
        {
            using CoordinatorConnection conn = coordinator.Open(r);
            TriggerPolicy policy = await conn.CallAsync((c, t) => c.GetTriggerPolicyAsync(new GetTriggerPolicyRequest(), cancellationToken: t).ResponseAsync, ct)
                .ConfigureAwait(false);
            if (r.OutputOf(output) == OutputFormat.Json)
            {
                CliConsole.WriteJson(env.Stdout, policy);
                return ExitCodes.Ok;
            }

            IAnsiConsole console = CliConsole.Create(env.Stdout, env.StdoutIsTerminal);
            console.Line($"Triggers {(policy.Enabled ? "enabled" : "disabled")}: window {DurationText.Format(policy.BeforeNs)} before to " +
                $"{DurationText.Format(policy.AfterNs)} after the instant at {DurationText.Format(policy.BinWidthNs)} bins; cooldown " +
                $"{DurationText.Format(policy.CooldownNs)}; at most {policy.HourlyCapPerRack.ToString(CultureInfo.InvariantCulture)} captures per rack per hour");
            if (policy.RulesSeen.Count == 0)
            {
                console.Line("No rule has reported since the coordinator started.");
                return ExitCodes.Ok;
            }

            Table table = CliConsole.NewTable(console, "RULE", "RACK", "HOST", "REPORTS", "LAST (UTC)");
            foreach (TriggerRuleSeen s in policy.RulesSeen)
            {
                table.AddPlainRow(s.Rule, s.Rack, s.Host, s.Reports.ToString(CultureInfo.InvariantCulture), CsvOutput.Utc(s.LastReportUnixNs));
            }

            console.Write(table);
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>One row per decision, newest first.</summary>
    internal static void WriteCsv(TextWriter writer, ListTriggersResponse response) =>
        CsvOutput.Write(writer,
            ["trigger_id", "received_utc", "rack", "host", "origin", "rule", "decision", "capture_id", "reason", "instant_tai_ns", "delay_ns", "decision_ns", "values"],
            response.Triggers.Select(t => (IReadOnlyList<string>)
            [
                t.TriggerId, CsvOutput.Utc(t.ReceivedAtUnixNs), t.Report?.Rack ?? "", t.Report?.Host ?? "", Origin(t.Origin), t.Report?.Rule ?? "",
                Decision(t.Decision), t.CaptureId, t.Reason, CsvOutput.Number(t.Report?.InstantTaiNs ?? 0), CsvOutput.Number(t.DelayNs),
                CsvOutput.Number(t.DecisionNs), ValuesText(t),
            ]));

    internal static void Render(IAnsiConsole console, ListTriggersResponse response)
    {
        if (response.Triggers.Count == 0)
        {
            console.Line("No triggers: agents report when a rule fires (Agent:Triggers); millisampler triggers policy shows the coordinator's side.");
            return;
        }

        Table table = CliConsole.NewTable(console, "RECEIVED (UTC)", "RACK", "HOST", "RULE", "DECISION", "CAPTURE", "DELAY", "REASON / VALUES");
        foreach (TriggerRecord t in response.Triggers)
        {
            table.AddPlainRow(TimeNs.ToUnix(t.ReceivedAtUnixNs).ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture),
                t.Report?.Rack ?? "", t.Report?.Host ?? "", $"{t.Report?.Rule}{(t.Origin == CaptureOrigin.Alert ? " (alert)" : "")}", Decision(t.Decision),
                t.CaptureId, t.DelayNs > 0 ? DurationText.Format(t.DelayNs) : "", t.Reason.Length > 0 ? t.Reason : ValuesText(t));
        }

        console.Write(table);
    }

    private static string ValuesText(TriggerRecord t) => t.Report is null ? "" :
        string.Join(" ", t.Report.Values.OrderBy(v => v.Key, StringComparer.Ordinal)
            .Select(v => $"{v.Key}={v.Value.ToString("0.####", CultureInfo.InvariantCulture)}"));

    private static string Decision(TriggerDecision d) => d switch
    {
        TriggerDecision.Fired => "fired",
        TriggerDecision.Joined => "joined",
        TriggerDecision.Refused => "refused",
        _ => "",
    };

    private static string Origin(CaptureOrigin o) => o switch
    {
        CaptureOrigin.Trigger => "trigger",
        CaptureOrigin.Alert => "alert",
        _ => "",
    };
}
