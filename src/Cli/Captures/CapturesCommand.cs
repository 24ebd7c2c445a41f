using System.CommandLine;
using System.Globalization;
using Millisampler.Cli.Connection;
using Millisampler.Cli.Output;
using Millisampler.Cli.Summary;
using Millisampler.Common.Text;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;
using Spectre.Console;

namespace Millisampler.Cli.Captures;

/// <summary><c>captures list</c> and <c>captures show ID</c>.</summary>
internal static class CapturesCommand
{
    public static Command Create(CliEnvironment env) => new("captures", "Past and running captures")
    {
        CreateList(env),
        CreateShow(env),
    };

    private static Command CreateList(CliEnvironment env)
    {
        CoordinatorOptions coordinator = CommonOptions.Coordinator(env);
        Option<string> rack = new("--rack") { Description = "Only this rack [default: every rack]", HelpName = "rack" };
        Option<long?> since = CommonOptions.Duration("--since", "Only captures requested within this long before now", "30m, 1h, 2d");
        Option<int?> limit = CommonOptions.Count("--limit", "At most this many, newest first [default: the coordinator's, 100]", "n", 1, 1000);
        Option<OutputFormat?> output = CommonOptions.Output(csv: true);
        var command = new Command("list", "List captures, newest first") { coordinator, rack, since, limit, output };
        command.SetAction(async (r, ct) =>
        {
            var request = new ListCapturesRequest { Rack = r.GetValue(rack) ?? "", Limit = (uint)(r.GetValue(limit) ?? 0) };
            if (r.GetValue(since) is { } ns)
            {
                long now = env.Clock.UnixNowNs();
                request.FromUnixNs = Math.Max(1, now - ns);
            }

            using CoordinatorConnection conn = coordinator.Open(r);
            ListCapturesResponse response = await conn.CallAsync((c, t) => c.ListCapturesAsync(request, cancellationToken: t).ResponseAsync, ct)
                .ConfigureAwait(false);
            if (r.OutputOf(output) == OutputFormat.Json)
            {
                CliConsole.WriteJson(env.Stdout, response);
            }
            else if (r.OutputOf(output) == OutputFormat.Csv)
            {
                WriteListCsv(env.Stdout, response);
            }
            else
            {
                RenderList(CliConsole.Create(env.Stdout, env.StdoutIsTerminal), response);
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateShow(CliEnvironment env)
    {
        CoordinatorOptions coordinator = CommonOptions.Coordinator(env);
        Argument<string> id = new("ID") { Description = "Capture id (capture prints it; captures list shows them)" };
        Option<OutputFormat?> output = CommonOptions.Output(csv: true);
        var command = new Command("show", "Show one capture: hosts, bursts, contention, synchronized events") { id, coordinator, output };
        command.SetAction(async (r, ct) =>
        {
            using CoordinatorConnection conn = coordinator.Open(r);
            Capture capture = await conn.CallAsync(
                (c, t) => c.GetCaptureAsync(new GetCaptureRequest { CaptureId = r.GetValue(id)! }, cancellationToken: t).ResponseAsync, ct)
                .ConfigureAwait(false);
            if (r.OutputOf(output) == OutputFormat.Json)
            {
                CliConsole.WriteJson(env.Stdout, capture);
            }
            else if (r.OutputOf(output) == OutputFormat.Csv)
            {
                WriteHostsCsv(env.Stdout, capture);
            }
            else
            {
                new CaptureSummaryRenderer(CliConsole.Create(env.Stdout, env.StdoutIsTerminal)).Render(capture);
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>One row per capture, as listed (newest first).</summary>
    internal static void WriteListCsv(TextWriter writer, ListCapturesResponse response) =>
        CsvOutput.Write(writer,
            ["capture_id", "rack", "state", "origin", "origin_name", "requested_by", "requested_utc", "completed_utc", "start_tai_ns", "bins",
                "bin_width_ns", "hosts_covered", "hosts_requested", "detail"],
            response.Captures.Select(c => (IReadOnlyList<string>)
            [
                c.CaptureId, c.Rack, CaptureText.State(c.State), Origin(c.Origin), c.OriginName, c.RequestedBy,
                CsvOutput.Utc(c.RequestedAtUnixNs), CsvOutput.Utc(c.CompletedAtUnixNs), CsvOutput.Number(c.StartTaiNs),
                CsvOutput.Number(c.Bins), CsvOutput.Number(c.BinWidthNs), CsvOutput.Number(c.HostsCovered), CsvOutput.Number(c.HostsRequested), c.Detail,
            ]));

    /// <summary>
    /// <c>captures show -o csv</c>: one row per host of the capture with its outcome and reason (the analysis is in
    /// <c>-o json</c> and in <c>export</c>).
    /// </summary>
    internal static void WriteHostsCsv(TextWriter writer, Capture c) =>
        CsvOutput.Write(writer,
            ["capture_id", "rack", "host", "outcome", "bins_covered", "bins", "link_speed_bits_per_second", "clock_error_ns", "alignment_trusted",
                "measured_offset_ns", "measured_offset_bound_ns", "offset_exceeds_half_bin", "reason"],
            c.Hosts.OrderBy(h => h.Host, StringComparer.Ordinal).Select(h => (IReadOnlyList<string>)
            [
                c.CaptureId, c.Rack, h.Host, CaptureText.Outcome(h.Outcome), CsvOutput.Number(h.BinsCovered), CsvOutput.Number(c.Bins),
                h.LinkSpeedBitsPerSecond > 0 ? CsvOutput.Number(h.LinkSpeedBitsPerSecond) : "",
                h.ClockErrorNs < 0 ? "" : CsvOutput.Number(h.ClockErrorNs),
                CaptureText.HasData(h.Outcome) ? CsvOutput.Bool(h.AlignmentTrusted) : "",
                h.OffsetMeasured ? CsvOutput.Number(h.MeasuredOffsetNs) : "",
                h.OffsetMeasured ? CsvOutput.Number(h.MeasuredOffsetBoundNs) : "",
                h.OffsetMeasured ? CsvOutput.Bool(h.OffsetExceedsHalfBin) : "",
                h.Reason,
            ]));

    private static string Origin(CaptureOrigin o) => o switch
    {
        CaptureOrigin.Engineer => "engineer",
        CaptureOrigin.Trigger => "trigger",
        CaptureOrigin.Alert => "alert",
        CaptureOrigin.Sweep => "sweep",
        _ => "",
    };

    /// <summary>One row per capture.</summary>
    internal static void RenderList(IAnsiConsole console, ListCapturesResponse response)
    {
        if (response.Captures.Count == 0)
        {
            console.Line("No captures.");
            return;
        }

        Table table = CliConsole.NewTable(console, "ID", "RACK", "STATE", "REQUESTED (UTC)", "BINS", "HOSTS", "DETAIL");
        foreach (Capture c in response.Captures)
        {
            table.AddPlainRow(
                c.CaptureId,
                c.Rack,
                CaptureText.State(c.State),
                c.RequestedAtUnixNs == 0 ? "-" : CaptureText.Time(c.RequestedAtUnixNs),
                $"{c.Bins.ToString(CultureInfo.InvariantCulture)} x {DurationText.Format(c.BinWidthNs)}",
                $"{c.HostsCovered}/{c.HostsRequested}",
                c.Detail);
        }

        console.Write(table);
    }
}
