using Millisampler.Cli.Output;
using Millisampler.Cli.Summary;
using Millisampler.Cli.Tests.Infrastructure;
using Millisampler.Contracts.V1;
using Spectre.Console;

namespace Millisampler.Cli.Tests.Summary;

/// <summary>
/// The capture summary's host table with one refused host whose reason is long (the agent's own error text): host
/// names stay whole on a terminal of 80 and of 200 columns and in piped output; the reason is shortened in the table
/// and printed in full below it.
/// </summary>
public class HostTableWidthTests
{
    private const string LongHost = "rack-r1-host-0042.dc1.example.net";

    private static readonly string LongReason = "agent refused: the requested interval 100us is below the agent's minimum bin width of 1ms "
        + "(RunLimits.MinBinWidth, set by --min-bin-width or Agent:Limits:MinBinWidth in appsettings.json); "
        + string.Concat(Enumerable.Repeat("the kernel's program could not be armed for this window, ", 4)) + "end of reason";

    private static Capture WithRefusedHost()
    {
        Capture c = TestCaptures.Analysed();
        c.Hosts.Add(new HostOutcome { Host = LongHost, Outcome = HostOutcomeKind.HostOutcomeRefused, Reason = LongReason, ClockErrorNs = 0 });
        return c;
    }

    private static string OnTerminal(Capture c, int width)
    {
        var writer = new StringWriter();
        IAnsiConsole console = CliConsole.Create(writer, terminal: true);
        console.Profile.Width = width;
        console.Profile.Capabilities.Ansi = true;
        console.Profile.Capabilities.Unicode = true;
        new CaptureSummaryRenderer(console).Render(c);
        return writer.ToString();
    }

    private static string Piped(Capture c)
    {
        var writer = new StringWriter();
        new CaptureSummaryRenderer(CliConsole.Create(writer, terminal: false)).Render(c);
        return writer.ToString();
    }

    private static string[] TableLines(string text) =>
        text.Split('\n').SkipWhile(l => !l.StartsWith("Hosts:", StringComparison.Ordinal)).Skip(1)
            .TakeWhile(l => !l.StartsWith("Reasons in full:", StringComparison.Ordinal) && l.Length > 0).ToArray();

    private static string Strip(string line) => System.Text.RegularExpressions.Regex.Replace(line, "\u001b\\[[0-9;]*m", "");

    [Fact]
    public void HostTable_OnATerminalOf200_LongReason_ShortensOnlyTheReason()
    {
        string text = Strip(OnTerminal(WithRefusedHost(), 200));
        string[] table = TableLines(text);

        Assert.All(table, l => Assert.True(l.GetCellWidth() <= 200, $"{l.GetCellWidth()} columns > 200: {l}"));
        Assert.Matches(@"^│ HOST\s+│ OUTCOME\s+│ BINS\s+│ LINK\s+│ CLOCK ERROR │ MEASURED OFFSET │ ALIGNMENT │ REASON\s+│$", table[1]);
        foreach (string host in new[] { "h1", "h2", "h3", "h4", LongHost })
        {
            Assert.Contains(table, l => System.Text.RegularExpressions.Regex.IsMatch(l, $@"^│ {System.Text.RegularExpressions.Regex.Escape(host)}\s+│ "));
        }

        string refusedRow = table.Single(l => l.Contains(LongHost, StringComparison.Ordinal));
        Assert.Matches(@"│ agent refused: the requested interval 100us .*…\s*│$", refusedRow);
        Assert.Contains($"Reasons in full:\n  {LongHost}: ", text);
        Assert.Contains("end of reason", text);
    }

    [Fact]
    public void HostTable_OnATerminalOf80_TooNarrowForTheColumns_OneBlockPerHostWithTheNameWhole()
    {
        string text = Strip(OnTerminal(WithRefusedHost(), 80));
        string[] lines = text.Split('\n');
        string[] hosts = lines.SkipWhile(l => !l.StartsWith("Hosts:", StringComparison.Ordinal)).Skip(1).TakeWhile(l => l.Length > 0).ToArray();

        Assert.All(lines, l => Assert.True(l.GetCellWidth() <= 80, $"{l.GetCellWidth()} columns > 80: {l}"));
        string[] names = ["h1", "h2", "h3", "h4", LongHost];
        Assert.Equal(names, hosts.Select(l => l.TrimEnd()).Where(names.Contains));
        Assert.Contains("  refused, 0/2000 bins", hosts.Select(l => l.TrimEnd()));
        string joined = string.Join(" ", hosts.Select(l => l.Trim()));
        Assert.Contains("h3 collected, 2000/2000 bins, link 25 Gbit/s, clock error 800us, alignment UNTRUSTED", joined);
        Assert.Contains("reason: " + LongReason, joined);
        Assert.DoesNotContain("│", text[..text.IndexOf("Bursts:", StringComparison.Ordinal)]);
    }

    [Fact]
    public void HostTable_Piped_LongReason_NeverSplitsTheHeaderNorAHostName()
    {
        string text = Piped(WithRefusedHost());
        string[] table = TableLines(text);

        Assert.Matches(@"^HOST\s+OUTCOME\s+BINS\s+LINK\s+CLOCK ERROR\s+MEASURED OFFSET\s+ALIGNMENT\s+REASON$", table[0]);
        Assert.Matches($@"(?m)^{System.Text.RegularExpressions.Regex.Escape(LongHost)}\s+refused\s+0/2000\s+-\s+-\s+-\s+-\s+agent refused: the requested .*\.\.\.$", text);
        Assert.Matches(@"(?m)^h2\s+partial\s+1500/2000\s+25 Gbit/s\s+12us\s+-\s+ok\s+agent stopped$", text);
        Assert.Equal(1 + 5, table.Length);
        Assert.All(table, l => Assert.True(l.Length <= 240, l));
        Assert.Contains($"Reasons in full:\n  {LongHost}: {LongReason}\n", text);
    }

    [Fact]
    public void HostTable_ShortReasons_PrintsNoReasonsInFull()
    {
        string text = Piped(TestCaptures.Analysed());

        Assert.DoesNotContain("Reasons in full", text);
        Assert.Matches(@"(?m)^h4\s+failed\s+0/2000\s+-\s+-\s+-\s+-\s+deadline exceeded$", text);
    }
}
