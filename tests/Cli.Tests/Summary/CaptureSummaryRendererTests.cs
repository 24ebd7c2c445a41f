using Millisampler.Cli.Output;
using Millisampler.Cli.Summary;
using Millisampler.Cli.Tests.Infrastructure;
using Millisampler.Contracts.V1;

namespace Millisampler.Cli.Tests.Summary;

public class CaptureSummaryRendererTests
{
    private static string Render(Capture capture, string? title = null)
    {
        var writer = new StringWriter();
        new CaptureSummaryRenderer(CliConsole.Create(writer, terminal: false)).Render(capture, title);
        return writer.ToString();
    }

    private static string LineWith(string text, string needle) =>
        text.Split('\n').Single(l => l.Contains(needle, StringComparison.Ordinal));

    [Fact]
    public void Render_AnalysedCapture_ShowsHeaderAndCoverage()
    {
        string text = Render(TestCaptures.Analysed());

        Assert.StartsWith("Capture c1 on rack r1: analysed", text);
        Assert.Contains("2000 bins x 1ms (2s); bin 0 at 2025-11-22 15:00:37.500 TAI; requested 2025-11-22 15:00:00.000 UTC", text);
        Assert.Contains("Hosts: 3 of 4 covered", text);
    }

    [Fact]
    public void Render_AnalysedCapture_ListsEveryHostWithOutcomeAndReason()
    {
        string text = Render(TestCaptures.Analysed());

        Assert.Matches(@"(?m)^h1\s+collected\s+2000/2000\s+25 Gbit/s\s+12us\s+-\s+ok$", text);
        Assert.Matches(@"(?m)^h2\s+partial\s+1500/2000\s+25 Gbit/s\s+12us\s+-\s+ok\s+agent stopped$", text);
        Assert.Matches(@"(?m)^h3\s+collected\s+2000/2000\s+25 Gbit/s\s+800us\s+-\s+UNTRUSTED$", text);
        Assert.Matches(@"(?m)^h4\s+failed\s+0/2000\s+-\s+-\s+-\s+-\s+deadline exceeded$", text);
        Assert.DoesNotContain("OFFSET:", text);
    }

    [Fact]
    public void Render_MeasuredOffsets_ShowOffsetAndBoundAndFlagTheHostBeyondHalfABin()
    {
        Capture c = TestCaptures.Analysed();
        HostOutcome h1 = c.Hosts.Single(h => h.Host == "h1");
        h1.OffsetMeasured = true;
        h1.MeasuredOffsetNs = -42_400;
        h1.MeasuredOffsetBoundNs = 350_200;
        HostOutcome h3 = c.Hosts.Single(h => h.Host == "h3");
        h3.OffsetMeasured = true;
        h3.MeasuredOffsetNs = 100_012_345;
        h3.MeasuredOffsetBoundNs = 1_200_000;
        h3.OffsetExceedsHalfBin = true;
        HostOutcome h2 = c.Hosts.Single(h => h.Host == "h2");
        h2.OffsetMeasured = true;
        h2.MeasuredOffsetNs = 0;
        h2.MeasuredOffsetBoundNs = 0;

        string text = Render(c);

        Assert.Matches(@"(?m)^HOST\s+OUTCOME\s+BINS\s+LINK\s+CLOCK ERROR\s+MEASURED OFFSET\s+ALIGNMENT\s+REASON$", text);
        // Rounded to the microsecond; the bound rounded up (350.2us is at most 351us).
        Assert.Matches(@"(?m)^h1\s+collected\s+2000/2000\s+25 Gbit/s\s+12us\s+-42us ± 351us\s+ok$", text);
        Assert.Matches(@"(?m)^h2\s+partial\s+1500/2000\s+25 Gbit/s\s+12us\s+0us ± 0us\s+ok\s+agent stopped$", text);
        Assert.Matches(@"(?m)^h3\s+collected\s+2000/2000\s+25 Gbit/s\s+800us\s+\+100.012ms ± 1.2ms\s+UNTRUSTED, OFFSET$", text);
        Assert.Matches(@"(?m)^h4\s+failed\s+0/2000\s+-\s+-\s+-\s+-\s+deadline exceeded$", text);
        Assert.Contains("OFFSET: the coordinator measured the clock of h3 more than half a bin (500us) off, beyond the measurement's bound;", text);
    }

    [Fact]
    public void Render_MoreBurstsThanTheTop_ShowsTheLargestFirstAndLeavesTheSmallestOut()
    {
        string text = Render(TestCaptures.Analysed());

        Assert.Contains("Bursts: 12 at or above θ = 0.5 of line rate; the 10 largest by bytes:", text);
        Assert.Matches(@"h1\s+100\s+\+100ms\s+3ms\s+9 MB\s+98%\s+1.2 kB\s+0 B\s+48\s+2 / 1.3", LineWith(text, "+100ms"));
        Assert.DoesNotContain("+1.9s", text);
        int largest = text.IndexOf("+100ms", StringComparison.Ordinal);
        int next = text.IndexOf("+290ms", StringComparison.Ordinal);
        Assert.True(largest >= 0 && next > largest, "bursts are listed largest first");
    }

    [Fact]
    public void Render_ContentionLevels_AsHistogramWithBurstLossColumns()
    {
        string text = Render(TestCaptures.Analysed());

        Assert.Contains("Contention: bins by hosts bursting at once; bursts by the most other hosts they met", text);
        Assert.Matches(@"0\s+1800\s+90%\s+#{30}\s+9\s+0 \(0%\)\s+1 \(11.1%\)", text);
        Assert.Matches(@"1\s+150\s+7.5%\s+###\s+2\s+1 \(50%\)\s+0 \(0%\)", text);
        Assert.Matches(@"2\s+50\s+2.5%\s+#\s+1\s+1 \(100%\)", text);
    }

    [Fact]
    public void Render_SyncEvent_ShowsBinsAsTimeOffsetsAndRackIngressAgainstCapacity()
    {
        string text = Render(TestCaptures.Analysed());

        Assert.Contains("Synchronized events: 1 (2 or more hosts bursting at once); in time order:", text);
        Assert.Matches(@"12\s+\+12ms\s+3ms\s+h1,h2,h3\s+27 MB\s+3 kB\s+0 B\s+61.5 Gbit/s of 75 Gbit/s\s+82%\s+3", LineWith(text, "+12ms"));
    }

    [Fact]
    public void Render_UntrustedHosts_AreNamedWithTheHalfBinLimit()
    {
        string text = Render(TestCaptures.Analysed());

        Assert.Contains("Untrusted alignment: 1 host(s) with clock error above half a bin (500us) or unknown: h3", text);
    }

    [Fact]
    public void Render_FailedCaptureWithoutAnalysis_ShowsWhyAndNoAnalysisSections()
    {
        var c = new Capture
        {
            CaptureId = "c2",
            Rack = "r1",
            State = CaptureState.Failed,
            Detail = "no host returned data: h1 refused (busy)",
            HostsRequested = 1,
        };
        c.Hosts.Add(new HostOutcome { Host = "h1", Outcome = HostOutcomeKind.HostOutcomeRefused, Reason = "busy" });

        string text = Render(c);

        Assert.StartsWith("Capture c2 on rack r1: failed", text);
        Assert.Contains("failed: no host returned data: h1 refused (busy)", text);
        Assert.Contains("Hosts: 0 of 1 covered", text);
        Assert.DoesNotContain("Bursts", text);
    }

    [Fact]
    public void Render_NoBurstsNoEvents_SaysSo()
    {
        Capture c = TestCaptures.Analysed();
        c.Analysis.Bursts.Clear();
        c.Analysis.Events.Clear();
        c.Analysis.UntrustedAlignmentHosts.Clear();

        string text = Render(c);

        Assert.Contains("Bursts: none (no bin at or above θ = 0.5 of line rate)", text);
        Assert.Contains("Synchronized events: none (no bin with 2 or more hosts bursting at once)", text);
        Assert.Contains("Alignment: every host's clock error is within half a bin (500us).", text);
    }

    [Fact]
    public void Render_PlainOutput_HasNoAnsiEscapesNorTrailingBlanks()
    {
        string text = Render(TestCaptures.Analysed());

        Assert.DoesNotContain("\u001b[", text);
        Assert.DoesNotContain(" \n", text);
    }
}
