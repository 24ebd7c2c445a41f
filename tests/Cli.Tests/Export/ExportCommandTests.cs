using Millisampler.Analysis.Datasets;
using Millisampler.Cli.Tests.Infrastructure;
using Millisampler.Contracts.V1;

namespace Millisampler.Cli.Tests.Export;

public class ExportCommandTests
{
    private static FakeCoordinatorService WithSeries(string captureId)
    {
        var service = new FakeCoordinatorService();
        var failed = new Run { RunId = "run-d", Host = "d", Rack = "r1", BinWidthNs = 1_000_000, Bins = TestRack.Bins, Status = RunStatus.Failed, StatusDetail = "agent refused: busy" };
        service.Series[captureId] = [TestRack.Run("b"), TestRack.Run("a"), TestRack.Run("c"), failed];
        service.Captures[captureId] = TestRack.CaptureOf(captureId, "a", "b", "c", "d");
        return service;
    }

    [Fact]
    public async Task Export_WritesOneReadableMetaShapedFilePerHostWithData()
    {
        await using FakeCoordinator fake = await FakeCoordinator.StartAsync(WithSeries("cap-x"));
        using var dir = new TempDirectory();
        string target = Path.Combine(dir.Path, "out");

        CliResult r = await CliRun.RunAsync("export", "cap-x", target, "--coordinator", fake.Address.ToString());

        Assert.Equal(ExitCodes.Ok, r.ExitCode);
        Assert.Equal(["rackId_r1_hostId_a.txt.gz", "rackId_r1_hostId_b.txt.gz", "rackId_r1_hostId_c.txt.gz"],
            Directory.GetFiles(target).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        MetaHostFile a = MetaDataset.Read(Path.Combine(target, "rackId_r1_hostId_a.txt.gz"));
        Assert.Equal("a", a.ServerHostname);
        Assert.Equal("r1", a.RackId);
        Assert.Equal(1.0, a.SamplingFreq);
        Assert.Equal(TestRack.Ingress("a"), a.IngressBytes);
        Assert.Equal(TestRack.LinkSpeed, a.LinkSpeedBitsPerSecond);
        Assert.Equal(50_000, a.ClockErrorNs);
        Assert.Equal(1_000_000, a.BinWidthNs);
        Assert.Equal("run-a", a.RunId);

        Assert.Contains("d: skipped, no data (agent refused: busy)", r.Stdout);
        Assert.Matches($@"(?m)^a: 100 bins -> {System.Text.RegularExpressions.Regex.Escape(Path.Combine(target, "rackId_r1_hostId_a.txt.gz"))} \([\d.]+ k?B\)$", r.Stdout);
        Assert.Contains($"Wrote 3 host file(s) of capture cap-x to {target}", r.Stdout);
    }

    [Fact]
    public async Task Export_ThenAnalyze_FindsTheEventWithoutLinkSpeed()
    {
        await using FakeCoordinator fake = await FakeCoordinator.StartAsync(WithSeries("cap-x"));
        using var dir = new TempDirectory();

        CliResult export = await CliRun.RunAsync("export", "cap-x", dir.Path, "--coordinator", fake.Address.ToString());
        CliResult analyze = await CliRun.RunAsync("analyze", dir.Path);

        Assert.Equal(ExitCodes.Ok, export.ExitCode);
        Assert.Equal(ExitCodes.Ok, analyze.ExitCode);
        Assert.Contains("bin 0 at 2025-11-22 15:00:37.000 TAI", analyze.Stdout);
        Assert.Matches(@"(?m)^40\s+\+40ms\s+3ms\s+a,b,c\s", analyze.Stdout);
        Assert.Contains("Alignment: every host's clock error is within half a bin (500us).", analyze.Stdout);
    }

    [Fact]
    public async Task Export_FilesExist_RefusesUnlessForced()
    {
        await using FakeCoordinator fake = await FakeCoordinator.StartAsync(WithSeries("cap-x"));
        using var dir = new TempDirectory();
        string existing = Path.Combine(dir.Path, "rackId_r1_hostId_a.txt.gz");
        await File.WriteAllTextAsync(existing, "keep me");

        CliResult refused = await CliRun.RunAsync("export", "cap-x", dir.Path, "--coordinator", fake.Address.ToString());

        Assert.Equal(ExitCodes.Failed, refused.ExitCode);
        Assert.Equal($"error: {existing} already exists; --force overwrites", refused.Stderr.TrimEnd());
        Assert.Equal("keep me", await File.ReadAllTextAsync(existing));
        Assert.Single(Directory.GetFiles(dir.Path));

        CliResult forced = await CliRun.RunAsync("export", "cap-x", dir.Path, "--coordinator", fake.Address.ToString(), "--force");

        Assert.Equal(ExitCodes.Ok, forced.ExitCode);
        Assert.Equal(TestRack.Ingress("a"), MetaDataset.Read(existing).IngressBytes);
    }

    [Fact]
    public async Task Export_HostWithoutAnyRun_IsNamedAsSkippedWithItsOutcomeAndReason()
    {
        // A host the agent refused before the start has no run at all: only the capture's host list names it.
        FakeCoordinatorService service = WithSeries("cap-x");
        service.Captures["cap-x"].Hosts.Add(new HostOutcome { Host = "e", Outcome = HostOutcomeKind.HostOutcomeRefused, Reason = "interval below the agent's minimum" });
        await using FakeCoordinator fake = await FakeCoordinator.StartAsync(service);
        using var dir = new TempDirectory();

        CliResult meta = await CliRun.RunAsync("export", "cap-x", Path.Combine(dir.Path, "meta"), "--coordinator", fake.Address.ToString());
        CliResult csv = await CliRun.RunAsync("export", "cap-x", Path.Combine(dir.Path, "csv"), "--format", "csv", "--coordinator", fake.Address.ToString());

        foreach (CliResult r in new[] { meta, csv })
        {
            Assert.Equal(ExitCodes.Ok, r.ExitCode);
            Assert.Contains("e: skipped, no data (refused: interval below the agent's minimum)\n", r.Stdout);
            Assert.Contains("d: skipped, no data (agent refused: busy)\n", r.Stdout);
        }
    }

    [Fact]
    public async Task Export_UnknownCapture_ExitsOneWithNotFound()
    {
        await using FakeCoordinator fake = await FakeCoordinator.StartAsync();
        using var dir = new TempDirectory();

        CliResult r = await CliRun.RunAsync("export", "nope", dir.Path, "--coordinator", fake.Address.ToString());

        Assert.Equal(ExitCodes.Failed, r.ExitCode);
        Assert.Equal("error: NotFound: capture 'nope' not found", r.Stderr.TrimEnd());
    }

    [Fact]
    public async Task Export_FailsPartWay_LeavesNoPartialSetAndSaysSo()
    {
        // The second host's file name is longer than any file system allows: its write fails after the first succeeded.
        var service = new FakeCoordinatorService();
        string longHost = new('b', 300);
        service.Series["cap-x"] = [TestRack.Run("a"), TestRack.Run(longHost)];
        service.Captures["cap-x"] = TestRack.CaptureOf("cap-x", "a", longHost);
        await using FakeCoordinator fake = await FakeCoordinator.StartAsync(service);
        using var dir = new TempDirectory();

        CliResult r = await CliRun.RunAsync("export", "cap-x", dir.Path, "--coordinator", fake.Address.ToString());

        Assert.Equal(ExitCodes.Failed, r.ExitCode);
        Assert.Contains("stopped after 1 of 2 host file(s)", r.Stderr, StringComparison.Ordinal);
        Assert.Contains("nothing was written to", r.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.Stderr, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(dir.Path));
    }
}
