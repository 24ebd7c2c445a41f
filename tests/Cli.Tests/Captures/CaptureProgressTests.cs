using Millisampler.Cli.Captures;
using Millisampler.Cli.Output;
using Millisampler.Contracts.V1;
using Spectre.Console;

namespace Millisampler.Cli.Tests.Captures;

/// <summary>Progress while a capture runs: bins elapsed and time left by the TAI clock, the capture id whole.</summary>
public class CaptureProgressTests
{
    private const long Start = 1_763_823_637_500_000_000;
    private const long Ms = 1_000_000;
    private const string LongId = "c-20251122T150037Z-rack-r1-0123456789abcdef0123456789abcdef";

    private static CaptureProgress P(CaptureState state) => new() { CaptureId = LongId, State = state, StartTaiNs = Start };

    [Fact]
    public void Printer_CountsBinsFromTheStartInstant_ALinePerTenth_AndTheWholeId()
    {
        var writer = new StringWriter();
        var printer = new CaptureProgressPrinter(CliConsole.Create(writer, terminal: false), bins: 2000, binWidthNs: Ms);

        printer.Show(P(CaptureState.Scheduled), Start - (300 * Ms));
        printer.Show(P(CaptureState.Running), Start + (5 * Ms));
        printer.Tick(Start + (100 * Ms));
        printer.Tick(Start + (250 * Ms));
        printer.Tick(Start + (260 * Ms));
        printer.Tick(Start + (2000 * Ms));
        printer.Tick(Start + (2100 * Ms));

        Assert.Equal(
        [
            $"capture {LongId}: scheduled, bin 0 at 2025-11-22 15:00:37.500 TAI, starts in 300ms, 2.3s left",
            $"capture {LongId}: running, bin 5 of 2000 (0.25%), 1.995s left",
            $"capture {LongId}: running, bin 250 of 2000 (12.5%), 1.75s left",
            $"capture {LongId}: running, all 2000 bins recorded",
            "",
        ], writer.ToString().Split('\n'));
    }

    [Fact]
    public void Printer_AfterRecording_StopsCounting()
    {
        var writer = new StringWriter();
        var printer = new CaptureProgressPrinter(CliConsole.Create(writer, terminal: false), bins: 2000, binWidthNs: Ms);

        printer.Show(P(CaptureState.Collecting), Start + (2500 * Ms));
        printer.Tick(Start + (2600 * Ms));

        Assert.Equal($"capture {LongId}: collecting, bin 0 at 2025-11-22 15:00:37.500 TAI\n", writer.ToString());
    }

    [Fact]
    public void LiveTable_NarrowTerminal_ShowsTheWholeIdAndTheBins()
    {
        var writer = new StringWriter();
        IAnsiConsole console = CliConsole.Create(writer, terminal: true);
        console.Profile.Width = 80;
        var table = new CaptureProgressTable(2000, Ms);
        CaptureProgress p = P(CaptureState.Running);
        p.Hosts.Add(new HostProgress { Host = "rack-r1-host-0042.dc1.example.net", Outcome = HostOutcomeKind.HostOutcomeRefused, Reason = new string('x', 200) });
        table.Update(p);

        console.Write(table.Render(console, Start + (812 * Ms)));

        string text = writer.ToString();
        Assert.Contains($"capture {LongId}: running,", text);
        Assert.Contains("bin 812 of 2000 (40.6%), 1.188s left", text.ReplaceLineEndings(" "));
        Assert.Contains("rack-r1-host-0042.dc1.example.net", text);
    }

    [Theory]
    [InlineData(-1, "starts in 1ns, 2s left")]
    [InlineData(0, "bin 0 of 2000 (0%), 2s left")]
    [InlineData(1_999_999_999, "bin 1999 of 2000 (100%), 1ns left")]
    [InlineData(2_000_000_000, "all 2000 bins recorded")]
    public void RecordingClock_Edges(long sinceStartNs, string expected) =>
        Assert.Equal(expected, new RecordingClock(2000, Ms).Text(CaptureState.Running, Start, Start + sinceStartNs));
}
