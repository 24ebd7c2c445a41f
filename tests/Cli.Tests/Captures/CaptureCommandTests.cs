using Google.Protobuf;
using Grpc.Core;
using Millisampler.Cli.Tests.Infrastructure;
using Millisampler.Contracts.V1;

namespace Millisampler.Cli.Tests.Captures;

public class CaptureCommandTests
{
    private static CaptureProgress Progress(string id, CaptureState state, params (string Host, HostOutcomeKind Outcome, string Reason)[] hosts)
    {
        var p = new CaptureProgress { CaptureId = id, State = state };
        if (state != CaptureState.Queued)
        {
            p.StartTaiNs = 1_763_823_637_500_000_000;
        }

        p.Hosts.AddRange(hosts.Select(h => new HostProgress { Host = h.Host, Outcome = h.Outcome, Reason = h.Reason }));
        return p;
    }

    private static FakeCoordinatorService ScriptedCapture(string id)
    {
        var service = new FakeCoordinatorService
        {
            OnStart = r => new Capture { CaptureId = id, Rack = r.Rack, State = CaptureState.Scheduled },
        };
        service.Progress[id] =
        [
            Progress(id, CaptureState.Scheduled, ("h1", HostOutcomeKind.HostOutcomeScheduled, ""), ("h2", HostOutcomeKind.HostOutcomeRefused, "interval below the agent's minimum")),
            Progress(id, CaptureState.Running, ("h1", HostOutcomeKind.HostOutcomeScheduled, ""), ("h2", HostOutcomeKind.HostOutcomeRefused, "interval below the agent's minimum")),
            Progress(id, CaptureState.Collecting, ("h1", HostOutcomeKind.HostOutcomeCollected, ""), ("h2", HostOutcomeKind.HostOutcomeRefused, "interval below the agent's minimum")),
            Progress(id, CaptureState.Analysed, ("h1", HostOutcomeKind.HostOutcomeCollected, ""), ("h2", HostOutcomeKind.HostOutcomeRefused, "interval below the agent's minimum")),
        ];
        service.Captures[id] = TestCaptures.Analysed(id);
        return service;
    }

    [Fact]
    public async Task Capture_NoWait_SendsTheRequestAndPrintsTheId()
    {
        await using FakeCoordinator fake = await FakeCoordinator.StartAsync();

        CliResult r = await CliRun.RunAsync("capture", "--coordinator", fake.Address.ToString(), "--rack", "r1",
            "--interval", "100us", "--samples", "500", "--hosts", "h1,h2", "--hosts", "h3", "--lead", "750ms",
            "--threshold", "0.6", "--min-hosts", "3", "--queue");

        Assert.Equal(ExitCodes.Ok, r.ExitCode);
        Assert.Equal("cap-1", r.Stdout.Trim());
        StartCaptureRequest sent = Assert.Single(fake.Service.StartRequests);
        Assert.Equal("r1", sent.Rack);
        Assert.Equal(100_000, sent.BinWidthNs);
        Assert.Equal(500u, sent.Bins);
        Assert.Equal(["h1", "h2", "h3"], sent.Hosts);
        Assert.Equal(750_000_000, sent.LeadTimeNs);
        Assert.Equal(0.6, sent.BurstThreshold);
        Assert.Equal(3u, sent.EventMinHosts);
        Assert.True(sent.WaitIfBusy);
    }

    [Fact]
    public async Task Capture_Defaults_LeaveChoicesToTheCoordinator()
    {
        await using FakeCoordinator fake = await FakeCoordinator.StartAsync();

        CliResult r = await CliRun.RunAsync("capture", "--coordinator", fake.Address.ToString(), "--rack", "r1");

        Assert.Equal(ExitCodes.Ok, r.ExitCode);
        StartCaptureRequest sent = Assert.Single(fake.Service.StartRequests);
        Assert.Equal(1_000_000, sent.BinWidthNs);
        Assert.Equal(2000u, sent.Bins);
        Assert.Empty(sent.Hosts);
        Assert.Equal(0, sent.LeadTimeNs);
        Assert.Equal(0, sent.BurstThreshold);
        Assert.Equal(0u, sent.EventMinHosts);
        Assert.False(sent.WaitIfBusy);
    }

    [Fact]
    public async Task CaptureWait_StreamsProgressThenPrintsTheSummary()
    {
        await using FakeCoordinator fake = await FakeCoordinator.StartAsync(ScriptedCapture("cap-7"));

        CliResult r = await CliRun.RunAsync("capture", "--coordinator", fake.Address.ToString(), "--rack", "r1", "--wait");

        Assert.Equal(ExitCodes.Ok, r.ExitCode);
        string[] lines = r.Stdout.ReplaceLineEndings("\n").Split('\n');
        Assert.Equal(
        [
            "capture cap-7: scheduled, bin 0 at 2025-11-22 15:00:37.500 TAI",
            "  h1: scheduled",
            "  h2: refused (interval below the agent's minimum)",
            "capture cap-7: running",
            "capture cap-7: collecting",
            "  h1: collected",
            "capture cap-7: analysed",
            "",
            "Capture cap-7 on rack r1: analysed",
        ], lines.Take(9));
        Assert.Contains("Hosts: 3 of 4 covered", r.Stdout);
        Assert.Contains("Synchronized events: 1", r.Stdout);
        Assert.Equal("", r.Stderr);
    }

    [Fact]
    public async Task CaptureWait_OnATerminal_DrawsTheLiveTableThenTheSummary()
    {
        await using FakeCoordinator fake = await FakeCoordinator.StartAsync(ScriptedCapture("cap-t"));
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var env = new CliEnvironment(stdout, stderr, StdoutIsTerminal: true, GetEnvironmentVariable: _ => null);

        int code = await Cli.RunAsync(["capture", "--coordinator", fake.Address.ToString(), "--rack", "r1", "--wait"], env, CancellationToken.None);

        Assert.Equal(ExitCodes.Ok, code);
        string text = stdout.ToString();
        Assert.Contains("capture cap-t: analysed", text);
        Assert.Contains("interval below the agent's minimum", text);
        Assert.Contains("Capture cap-t on rack r1: analysed", text);
        Assert.Equal("", stderr.ToString());
    }

    [Fact]
    public async Task CaptureWaitJson_PrintsTheCaptureAsJsonAndProgressOnStderr()
    {
        await using FakeCoordinator fake = await FakeCoordinator.StartAsync(ScriptedCapture("cap-8"));

        CliResult r = await CliRun.RunAsync("capture", "--coordinator", fake.Address.ToString(), "--rack", "r1", "--wait", "--output", "json");

        Assert.Equal(ExitCodes.Ok, r.ExitCode);
        Capture printed = JsonParser.Default.Parse<Capture>(r.Stdout);
        Assert.Equal(TestCaptures.Analysed("cap-8"), printed);
        Assert.Contains("capture cap-8: analysed", r.Stderr);
    }

    [Fact]
    public async Task CaptureWait_CaptureFailed_PrintsWhyAndExitsOne()
    {
        FakeCoordinatorService service = ScriptedCapture("cap-f");
        service.Progress["cap-f"] = [Progress("cap-f", CaptureState.Failed, ("h1", HostOutcomeKind.HostOutcomeFailed, "agent unreachable"))];
        var failed = new Capture { CaptureId = "cap-f", Rack = "r1", State = CaptureState.Failed, Detail = "no host returned data: h1 failed (agent unreachable)", HostsRequested = 1 };
        failed.Hosts.Add(new HostOutcome { Host = "h1", Outcome = HostOutcomeKind.HostOutcomeFailed, Reason = "agent unreachable" });
        service.Captures["cap-f"] = failed;
        await using FakeCoordinator fake = await FakeCoordinator.StartAsync(service);

        CliResult r = await CliRun.RunAsync("capture", "--coordinator", fake.Address.ToString(), "--rack", "r1", "--wait");

        Assert.Equal(ExitCodes.Failed, r.ExitCode);
        Assert.Contains("Capture cap-f on rack r1: failed", r.Stdout);
        Assert.Contains("failed: no host returned data: h1 failed (agent unreachable)", r.Stdout);
    }

    [Fact]
    public async Task CaptureWait_Interrupted_StopsWaitingAndTellsHowToShowItLater()
    {
        var service = new FakeCoordinatorService
        {
            OnStart = r => new Capture { CaptureId = "cap-9", Rack = r.Rack, State = CaptureState.Scheduled },
        };
        service.Progress["cap-9"] = [Progress("cap-9", CaptureState.Running, ("h1", HostOutcomeKind.HostOutcomeScheduled, ""))];
        service.HoldWatchOpen["cap-9"] = true;
        await using FakeCoordinator fake = await FakeCoordinator.StartAsync(service);
        using var ctrlC = new CancellationTokenSource();
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        TextWriter syncedOut = TextWriter.Synchronized(stdout);
        var env = new CliEnvironment(syncedOut, TextWriter.Synchronized(stderr), GetEnvironmentVariable: _ => null);

        Task<int> run = Cli.RunAsync(["capture", "--coordinator", fake.Address.ToString(), "--rack", "r1", "--wait"], env, ctrlC.Token);
        await service.WatchHeld.Task.WaitAsync(TimeSpan.FromSeconds(30));
        using (var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            // The user presses Ctrl-C after seeing the progress line.
            while (!Shown(syncedOut, stdout, "capture cap-9: running"))
            {
                await Task.Delay(10, deadline.Token);
            }
        }

        await ctrlC.CancelAsync();
        int code = await run.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(ExitCodes.Interrupted, code);
        Assert.Equal("error: stopped waiting; capture cap-9 goes on without us. Show it later: millisampler captures show cap-9", stderr.ToString().TrimEnd());
    }

    private static bool Shown(TextWriter synced, StringWriter inner, string text)
    {
        lock (synced)
        {
            return inner.ToString().Contains(text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Capture_RackBusy_ExitsOneWithTheCoordinatorsWords()
    {
        var service = new FakeCoordinatorService
        {
            OnStart = _ => throw new RpcException(new Status(StatusCode.ResourceExhausted,
                "rack 'r1' is busy with capture cap-0; retry when it ends (WatchCapture) or set wait_if_busy to queue behind it")),
        };
        await using FakeCoordinator fake = await FakeCoordinator.StartAsync(service);

        CliResult r = await CliRun.RunAsync("capture", "--coordinator", fake.Address.ToString(), "--rack", "r1");

        Assert.Equal(ExitCodes.Failed, r.ExitCode);
        Assert.Equal("error: ResourceExhausted: rack 'r1' is busy with capture cap-0; retry when it ends (WatchCapture) or set wait_if_busy "
            + "to queue behind it (capture --queue waits behind it)", r.Stderr.TrimEnd());
    }

    [Fact]
    public async Task Capture_InvalidArgument_ExitsOneWithStatusAndDetail()
    {
        var service = new FakeCoordinatorService
        {
            OnStart = _ => throw new RpcException(new Status(StatusCode.InvalidArgument, "bins: 5000 is out of range; allowed 1..2000")),
        };
        await using FakeCoordinator fake = await FakeCoordinator.StartAsync(service);

        CliResult r = await CliRun.RunAsync("capture", "--coordinator", fake.Address.ToString(), "--rack", "r1", "--samples", "5000");

        Assert.Equal(ExitCodes.Failed, r.ExitCode);
        Assert.Equal("error: InvalidArgument: bins: 5000 is out of range; allowed 1..2000", r.Stderr.TrimEnd());
    }
}
