using System.CommandLine;
using Millisampler.Cli.Connection;
using Millisampler.Cli.Output;
using Millisampler.Cli.Summary;
using Millisampler.Common.Text;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;
using Spectre.Console;

namespace Millisampler.Cli.Racks;

/// <summary><c>racks</c>: every registered host, rack by rack.</summary>
internal static class RacksCommand
{
    public static Command Create(CliEnvironment env)
    {
        CoordinatorOptions coordinator = CommonOptions.Coordinator(env);
        Option<OutputFormat?> output = CommonOptions.Output(csv: true);
        var command = new Command("racks", "Registered racks and hosts: address, link speed, clock, health") { coordinator, output };
        command.SetAction(async (r, ct) =>
        {
            using CoordinatorConnection conn = coordinator.Open(r);
            ListRacksResponse racks = await conn.CallAsync((c, t) => c.ListRacksAsync(new ListRacksRequest(), cancellationToken: t).ResponseAsync, ct)
                .ConfigureAwait(false);
            if (r.OutputOf(output) == OutputFormat.Json)
            {
                CliConsole.WriteJson(env.Stdout, racks);
            }
            else if (r.OutputOf(output) == OutputFormat.Csv)
            {
                WriteCsv(env.Stdout, racks);
            }
            else
            {
                Render(CliConsole.Create(env.Stdout, env.StdoutIsTerminal), racks, env.Clock.GetUtcNow());
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>One row per host, racks in name order.</summary>
    internal static void Render(IAnsiConsole console, ListRacksResponse response, DateTimeOffset now)
    {
        if (response.Racks.Count == 0)
        {
            console.Line("No racks: no agent has registered yet.");
            return;
        }

        Table table = CliConsole.NewTable(console, "RACK", "HOST", "ADDRESS", "LINK", "CLOCK", "CLOCK ERROR", "HEALTH", "LAST SEEN");
        foreach (Rack rack in response.Racks.OrderBy(r => r.Rack_, StringComparer.Ordinal))
        {
            foreach (HostMember h in rack.Hosts.OrderBy(h => h.Host, StringComparer.Ordinal))
            {
                table.AddPlainRow(rack.Rack_, h.Host, h.Address, LinkSpeed(h), ClockSync(h.Clock), ClockError(h.Clock), h.Health, LastSeen(h.LastSeenUnixNs, now));
            }
        }

        console.Write(table);
    }

    /// <summary>One row per host: link speeds in bits/s ("eth0=25000000000", ";"-separated), clock error in ns, last seen in UTC.</summary>
    internal static void WriteCsv(TextWriter writer, ListRacksResponse response) =>
        CsvOutput.Write(writer,
            ["rack", "host", "address", "interfaces", "clock_synchronized", "clock_max_error_ns", "health", "last_seen_utc"],
            response.Racks.OrderBy(r => r.Rack_, StringComparer.Ordinal).SelectMany(rack => rack.Hosts.OrderBy(h => h.Host, StringComparer.Ordinal)
                .Select(h => (IReadOnlyList<string>)
                [
                    rack.Rack_,
                    h.Host,
                    h.Address,
                    string.Join(";", h.Interfaces.Select(i => $"{i.Name}={CsvOutput.Number(i.LinkSpeedBitsPerSecond)}")),
                    h.Clock is null ? "" : CsvOutput.Bool(h.Clock.Synchronized),
                    h.Clock is null ? "" : CsvOutput.Number(h.Clock.MaxErrorNs),
                    h.Health,
                    CsvOutput.Utc(h.LastSeenUnixNs),
                ])));

    private static string LinkSpeed(HostMember h)
    {
        var speeds = h.Interfaces
            .Select(i => i.LinkSpeedBitsPerSecond > 0 ? $"{i.Name} {RateText.Format(i.LinkSpeedBitsPerSecond)}" : $"{i.Name} unknown")
            .ToList();
        return speeds.Count == 0 ? "-" : string.Join(", ", speeds);
    }

    private static string ClockSync(ClockState? c) => c is null ? "-" : c.Synchronized ? "synced" : "UNSYNCED";

    private static string ClockError(ClockState? c) => c is null ? "-" : DurationText.Format(c.MaxErrorNs);

    private static string LastSeen(long unixNs, DateTimeOffset now)
    {
        if (unixNs == 0)
        {
            return "never";
        }

        long ago = TimeNs.FromUnix(now) - unixNs;
        string text = CaptureText.Time(unixNs) + " UTC";
        return ago >= 0 ? $"{text} ({DurationText.FormatAgo(ago)} ago)" : text;
    }
}
