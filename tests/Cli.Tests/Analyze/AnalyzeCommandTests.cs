using Google.Protobuf;
using Millisampler.Analysis.Datasets;
using Millisampler.Cli.Tests.Infrastructure;
using Millisampler.Contracts.V1;

namespace Millisampler.Cli.Tests.Analyze;

public class AnalyzeCommandTests
{
    [Fact]
    public async Task Analyze_MetaFilesWithLinkSpeed_PrintsTheEventAtItsBinsAsTable()
    {
        using var dir = new TempDirectory();
        TestRack.WriteMeta(dir.Path);

        CliResult r = await CliRun.RunAsync("analyze", dir.Path, "--link-speed", "10g");

        Assert.Equal(ExitCodes.Ok, r.ExitCode);
        Assert.Equal("", r.Stderr);
        Assert.StartsWith($"Rack 1001 from {dir.Path}: 3 hosts (offline analysis)", r.Stdout);
        Assert.Contains("100 bins x 1ms (100ms)", r.Stdout);
        Assert.Contains("Hosts: 3 of 3 covered", r.Stdout);
        Assert.Matches(@"(?m)^a\s+collected\s+100/100\s+10 Gbit/s\s+unknown\s+-\s+UNTRUSTED$", r.Stdout);
        Assert.Contains("Bursts: 4 at or above θ = 0.5 of line rate; largest first:", r.Stdout);
        Assert.Contains("Synchronized events: 1 (2 or more hosts bursting at once); in time order:", r.Stdout);
        Assert.Matches(@"(?m)^40\s+\+40ms\s+3ms\s+a,b,c\s+9 MB\s+1.5 kB\s+2 kB\s+24 Gbit/s of 30 Gbit/s\s+80%\s+3$", r.Stdout);
        Assert.Contains("Untrusted alignment: 3 host(s) with clock error above half a bin (500us) or unknown: a,b,c", r.Stdout);
    }

    [Fact]
    public async Task Analyze_Json_IsTheCaptureAnalysisWithTheEvent()
    {
        using var dir = new TempDirectory();
        TestRack.WriteMeta(dir.Path);

        CliResult r = await CliRun.RunAsync("analyze", dir.Path, "--link-speed", "10g", "--output", "json");

        Assert.Equal(ExitCodes.Ok, r.ExitCode);
        CaptureAnalysis a = JsonParser.Default.Parse<CaptureAnalysis>(r.Stdout);
        Assert.Equal(0.5, a.BurstThreshold);
        Assert.Equal(2u, a.EventMinHosts);
        Assert.Equal(TestRack.Bins, a.Contention.Count);
        SyncEvent e = Assert.Single(a.Events);
        Assert.Equal(40u, e.StartBin);
        Assert.Equal(3u, e.LengthBins);
        Assert.Equal(["a", "b", "c"], e.Hosts);
        Assert.Equal(9_000_000UL, e.Bytes);
        Assert.Equal(1_500UL, e.CeBytes);
        Assert.Equal(2_000UL, e.RetransmitBytes);
        Assert.Equal(24e9, e.PeakRackIngressBitsPerSecond, 1e-3);
        Assert.Equal(30e9, e.RackLinkCapacityBitsPerSecond);
        Assert.Equal(4, a.Bursts.Count);
        Assert.Equal(["a", "b", "c"], a.UntrustedAlignmentHosts);
    }

    [Fact]
    public async Task Analyze_ThresholdAndMinHosts_AreApplied()
    {
        using var dir = new TempDirectory();
        TestRack.WriteMeta(dir.Path);

        CliResult r = await CliRun.RunAsync("analyze", dir.Path, "--link-speed", "10g", "--threshold", "0.9", "--min-hosts", "3", "-o", "json");

        Assert.Equal(ExitCodes.Ok, r.ExitCode);
        CaptureAnalysis a = JsonParser.Default.Parse<CaptureAnalysis>(r.Stdout);
        Assert.Equal(0.9, a.BurstThreshold);
        Assert.Equal(3u, a.EventMinHosts);
        Assert.Empty(a.Bursts);
        Assert.Empty(a.Events);
    }

    [Fact]
    public async Task Analyze_IntervalOverridesTheFiles_OffsetsFollow()
    {
        using var dir = new TempDirectory();
        TestRack.WriteMeta(dir.Path, samplingFreqMs: null);

        CliResult r = await CliRun.RunAsync("analyze", dir.Path, "--link-speed", "100g", "--interval", "100us");

        Assert.Equal(ExitCodes.Ok, r.ExitCode);
        Assert.Matches(@"(?m)^40\s+\+4ms\s+300us\s+a,b,c\s", r.Stdout);
    }

    [Fact]
    public async Task Analyze_NoIntervalAnywhere_ExitsOneWithTheDatasetMessage()
    {
        using var dir = new TempDirectory();
        TestRack.WriteMeta(dir.Path, samplingFreqMs: null);

        CliResult r = await CliRun.RunAsync("analyze", dir.Path, "--link-speed", "10g");

        Assert.Equal(ExitCodes.Failed, r.ExitCode);
        Assert.StartsWith("error: host 'a' of rack '1001': states no usable sampling interval", r.Stderr);
        Assert.Contains("(--interval)", r.Stderr);
    }

    [Fact]
    public async Task Analyze_MetaFilesWithoutLinkSpeed_ExitsTwoAskingForIt()
    {
        using var dir = new TempDirectory();
        TestRack.WriteMeta(dir.Path);

        CliResult r = await CliRun.RunAsync("analyze", dir.Path);

        Assert.Equal(ExitCodes.Usage, r.ExitCode);
        Assert.Equal("error: --link-speed: required: 3 of 3 host files state no link speed (Meta's files carry none, e.g. host 'a'); "
            + "give the hosts' link speed, like 10g, 25g, 12.5g", r.Stderr.TrimEnd());
    }

    [Fact]
    public async Task Analyze_SeveralRacks_AsksForOneThenAnalysesIt()
    {
        using var dir = new TempDirectory();
        TestRack.WriteMeta(dir.Path, rack: "1001");
        TestRack.WriteMeta(dir.Path, rack: "1002");

        CliResult all = await CliRun.RunAsync("analyze", dir.Path, "--link-speed", "10g");
        CliResult one = await CliRun.RunAsync("analyze", dir.Path, "--link-speed", "10g", "--rack", "1002");

        Assert.Equal(ExitCodes.Usage, all.ExitCode);
        Assert.Equal($"error: --rack: {dir.Path} holds 2 racks (1001, 1002); choose one with --rack", all.Stderr.TrimEnd());
        Assert.Equal(ExitCodes.Ok, one.ExitCode);
        Assert.StartsWith($"Rack 1002 from {dir.Path}: 3 hosts", one.Stdout);
    }

    [Fact]
    public async Task Analyze_CorruptFile_ExitsOneNamingTheFile()
    {
        using var dir = new TempDirectory();
        TestRack.WriteMeta(dir.Path);
        string bad = Path.Combine(dir.Path, "rackId_1001_hostId_d.json");
        await File.WriteAllTextAsync(bad, "{\"ingressBytes\": [1, 2, \"x\"]");

        CliResult r = await CliRun.RunAsync("analyze", dir.Path, "--link-speed", "10g");

        Assert.Equal(ExitCodes.Failed, r.ExitCode);
        Assert.StartsWith($"error: {bad}: ", r.Stderr);
        Assert.DoesNotContain("   at ", r.Stderr);
    }

    [Fact]
    public async Task Analyze_MissingDirectory_ExitsTwo()
    {
        CliResult r = await CliRun.RunAsync("analyze", "/nonexistent/millisampler", "--link-speed", "10g");

        Assert.Equal(ExitCodes.Usage, r.ExitCode);
        Assert.Equal("error: DIR: '/nonexistent/millisampler' is not a directory", r.Stderr.TrimEnd());
    }

    [Fact]
    public async Task Analyze_EmptyDirectory_ExitsOneSayingNoHostFiles()
    {
        using var dir = new TempDirectory();

        CliResult r = await CliRun.RunAsync("analyze", dir.Path, "--link-speed", "10g");

        Assert.Equal(ExitCodes.Failed, r.ExitCode);
        Assert.StartsWith($"error: {dir.Path}: holds no host file", r.Stderr);
    }
}
