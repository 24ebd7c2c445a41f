using System.Net;
using System.Net.Http.Json;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Tests.Infrastructure;

namespace Millisampler.Coordinator.Tests.Captures;

/// <summary>The real coordinator over gRPC on loopback with in-process fake agents.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class CaptureIntegrationTests
{
    [Fact]
    public async Task Capture_SixAgents_CompletesMergesAndAnalyses()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync();
        await c.AddAgentsAsync(6);

        Capture started = await c.Client.StartCaptureAsync(TestCoordinator.ShortCapture());
        Assert.Equal(CaptureState.Scheduled, started.State);
        Assert.Equal(0, started.StartTaiNs % 1_000_000);
        Assert.All(started.Hosts, h => Assert.Equal(HostOutcomeKind.HostOutcomeScheduled, h.Outcome));

        Capture done = await c.WaitForEndAsync(started.CaptureId);
        Assert.Equal(CaptureState.Analysed, done.State);
        Assert.Equal(6u, done.HostsRequested);
        Assert.Equal(6u, done.HostsCovered);
        Assert.All(done.Hosts, h =>
        {
            Assert.Equal(HostOutcomeKind.HostOutcomeCollected, h.Outcome);
            Assert.Equal(100u, h.BinsCovered);
            Assert.True(h.AlignmentTrusted);
            Assert.Equal(FakeAgent.LinkSpeedBitsPerSecond, h.LinkSpeedBitsPerSecond);
        });

        // Every fake agent bursts in the same bins: one synchronized event of all six, contention 6 there.
        Assert.Equal(100, done.Analysis.Contention.Count);
        Assert.Equal(6u, done.Analysis.Contention[FakeAgent.BurstStartBin]);
        SyncEvent e = Assert.Single(done.Analysis.Events);
        Assert.Equal((uint)FakeAgent.BurstStartBin, e.StartBin);
        Assert.Equal(6, e.Hosts.Count);
        Assert.All(c.Agents, a => Assert.Single(a.ScheduleCalls));

        GetCaptureSeriesResponse series = await c.Client.GetCaptureSeriesAsync(new GetCaptureSeriesRequest { CaptureId = done.CaptureId });
        Assert.Equal(6, series.Runs.Count);
        Assert.All(series.Runs, r => Assert.Equal(done.StartTaiNs, r.StartTaiNs));
    }

    [Fact]
    public async Task Capture_AgentRefuses_HostNamedRefusedWithItsReason()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync();
        await c.AddAgentsAsync(3, configure: (i, a) =>
        {
            if (i == 1)
            {
                a.ScheduleMode = ScheduleMode.Refuse;
            }
        });

        Capture started = await c.Client.StartCaptureAsync(TestCoordinator.ShortCapture());
        HostOutcome refusedAtArm = started.Hosts.Single(h => h.Host == "h02");
        Assert.Equal(HostOutcomeKind.HostOutcomeRefused, refusedAtArm.Outcome);

        Capture done = await c.WaitForEndAsync(started.CaptureId);
        Assert.Equal(CaptureState.Analysed, done.State);
        HostOutcome refused = done.Hosts.Single(h => h.Host == "h02");
        Assert.Equal(HostOutcomeKind.HostOutcomeRefused, refused.Outcome);
        Assert.Equal("FAILED_PRECONDITION: clock not synchronized", refused.Reason);
        Assert.Single(c.Agents[1].ScheduleCalls);
        Assert.Equal(2u, done.HostsCovered);
        Assert.Equal(3u, done.HostsRequested);
    }

    [Fact]
    public async Task Capture_AgentHangsOnScheduleRun_CaptureEndsHostFailed()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync();
        await c.AddAgentsAsync(3, configure: (i, a) =>
        {
            if (i == 2)
            {
                a.ScheduleMode = ScheduleMode.Hang;
            }
        });

        Capture started = await c.Client.StartCaptureAsync(TestCoordinator.ShortCapture());
        Capture done = await c.WaitForEndAsync(started.CaptureId);

        Assert.Equal(CaptureState.Analysed, done.State);
        HostOutcome hung = done.Hosts.Single(h => h.Host == "h03");
        Assert.Equal(HostOutcomeKind.HostOutcomeFailed, hung.Outcome);
        Assert.Contains("no answer before the start instant", hung.Reason);
        Assert.Contains("DEADLINE_EXCEEDED", hung.Reason);
        Assert.Equal(0, c.Agents[2].GetRunCalls);
        Assert.Equal(2u, done.HostsCovered);
    }

    [Fact]
    public async Task Capture_AgentHangsOnGetRun_CaptureEndsAfterCollectTimeoutHostFailed()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync();
        await c.AddAgentsAsync(2, configure: (i, a) =>
        {
            if (i == 0)
            {
                a.RunMode = RunMode.Hang;
            }
        });

        Capture started = await c.Client.StartCaptureAsync(TestCoordinator.ShortCapture());
        Capture done = await c.WaitForEndAsync(started.CaptureId);

        Assert.Equal(CaptureState.Analysed, done.State);
        HostOutcome hung = done.Hosts.Single(h => h.Host == "h01");
        Assert.Equal(HostOutcomeKind.HostOutcomeFailed, hung.Outcome);
        Assert.Contains("run not fetched within 1 s", hung.Reason);
        Assert.Equal(1u, done.HostsCovered);
    }

    [Fact]
    public async Task Capture_AgentCutShort_HostPartialWithBinsCovered()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync();
        await c.AddAgentsAsync(2, configure: (i, a) =>
        {
            if (i == 0)
            {
                a.RunMode = RunMode.CutShort;
                a.CutShortAfterBins = 40;
            }
        });

        Capture done = await c.WaitForEndAsync((await c.Client.StartCaptureAsync(TestCoordinator.ShortCapture())).CaptureId);

        HostOutcome cut = done.Hosts.Single(h => h.Host == "h01");
        Assert.Equal(HostOutcomeKind.HostOutcomePartial, cut.Outcome);
        Assert.Equal(40u, cut.BinsCovered);
        Assert.Contains("cut short after 40 of 100 bins", cut.Reason);
        Assert.Equal(CaptureState.Analysed, done.State);
    }

    [Fact]
    public async Task Capture_NoAgentAccepts_CaptureFailedNamingEveryHost()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync();
        await c.AddAgentsAsync(2, configure: (_, a) => a.ScheduleMode = ScheduleMode.Refuse);

        Capture done = await c.WaitForEndAsync((await c.Client.StartCaptureAsync(TestCoordinator.ShortCapture())).CaptureId);

        Assert.Equal(CaptureState.Failed, done.State);
        Assert.Contains("no host accepted the run", done.Detail);
        Assert.Contains("h01 refused", done.Detail);
        Assert.Contains("h02 refused", done.Detail);
    }

    [Fact]
    public async Task Capture_RackBusy_SecondRequestResourceExhaustedNamingRunningCapture()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync();
        await c.AddAgentsAsync(2);

        Capture first = await c.Client.StartCaptureAsync(TestCoordinator.ShortCapture(bins: 500));
        RpcException ex = await Assert.ThrowsAsync<RpcException>(() => c.Client.StartCaptureAsync(TestCoordinator.ShortCapture()).ResponseAsync);

        Assert.Equal(StatusCode.ResourceExhausted, ex.StatusCode);
        Assert.Contains(first.CaptureId, ex.Status.Detail);
        Assert.Contains("wait_if_busy", ex.Status.Detail);
        await c.WaitForEndAsync(first.CaptureId);
    }

    [Fact]
    public async Task Capture_WaitIfBusy_QueuesAndRunsAfterTheRunningOneWithoutOverlap()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync();
        await c.AddAgentsAsync(2);

        Capture first = await c.Client.StartCaptureAsync(TestCoordinator.ShortCapture(bins: 300));
        StartCaptureRequest second = TestCoordinator.ShortCapture();
        second.WaitIfBusy = true;
        Capture queued = await c.Client.StartCaptureAsync(second);
        Assert.Equal(CaptureState.Queued, queued.State);

        Capture firstDone = await c.WaitForEndAsync(first.CaptureId);
        Capture secondDone = await c.WaitForEndAsync(queued.CaptureId);

        Assert.Equal(CaptureState.Analysed, firstDone.State);
        Assert.Equal(CaptureState.Analysed, secondDone.State);
        long firstEnd = firstDone.StartTaiNs + (firstDone.Bins * firstDone.BinWidthNs);
        Assert.True(secondDone.StartTaiNs >= firstEnd, $"second starts {secondDone.StartTaiNs}, first ends {firstEnd}");
    }

    [Fact]
    public async Task Capture_WatcherSeesAnalysed_RackFreeForNextCaptureAtOnce()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync();
        await c.AddAgentsAsync(2);

        for (int i = 0; i < 3; i++)
        {
            Capture started = await c.Client.StartCaptureAsync(TestCoordinator.ShortCapture(bins: 20));
            Assert.Equal(CaptureState.Analysed, (await c.WaitForEndAsync(started.CaptureId)).State);
        }
    }

    [Fact]
    public async Task Capture_FirstScheduleAttemptUnavailable_RetriedBeforeStartAndCollected()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync();
        await c.AddAgentsAsync(2, configure: (i, a) =>
        {
            if (i == 0)
            {
                a.ScheduleMode = ScheduleMode.FailFirst;
                a.FailFirstAttempts = 1;
            }
        });

        Capture done = await c.WaitForEndAsync((await c.Client.StartCaptureAsync(TestCoordinator.ShortCapture())).CaptureId);

        Assert.Equal(HostOutcomeKind.HostOutcomeCollected, done.Hosts.Single(h => h.Host == "h01").Outcome);
        ScheduleCall[] calls = [.. c.Agents[0].ScheduleCalls];
        Assert.Equal(2, calls.Length);
        Assert.All(calls, call => Assert.True(call.ArrivedTaiNs < done.StartTaiNs));
    }

    [Fact]
    public async Task Capture_AgentAlwaysUnavailable_RetriesStopBeforeTheStartInstant()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync();
        await c.AddAgentsAsync(2, configure: (i, a) =>
        {
            if (i == 0)
            {
                a.ScheduleMode = ScheduleMode.FailFirst;
                a.FailFirstAttempts = int.MaxValue;
            }
        });

        Capture done = await c.WaitForEndAsync((await c.Client.StartCaptureAsync(TestCoordinator.ShortCapture())).CaptureId);
        int callsAtEnd = c.Agents[0].ScheduleCalls.Count;
        await Task.Delay(300);

        HostOutcome failed = done.Hosts.Single(h => h.Host == "h01");
        Assert.Equal(HostOutcomeKind.HostOutcomeFailed, failed.Outcome);
        Assert.Contains("UNAVAILABLE: agent is restarting", failed.Reason);
        ScheduleCall[] calls = [.. c.Agents[0].ScheduleCalls];
        Assert.True(calls.Length >= 2, $"expected retries, saw {calls.Length} call(s)");
        Assert.Equal(callsAtEnd, calls.Length);
        // Every attempt carries a deadline and arrives before the start instant. (The agent's deadline itself is not
        // compared with the start: grpc-timeout travels as a duration, so it moves by the call's transit time.)
        Assert.All(calls, call =>
        {
            Assert.True(call.ArrivedTaiNs < done.StartTaiNs, "an attempt arrived after the start instant");
            Assert.NotEqual(DateTime.MaxValue, call.Deadline);
        });
    }

    [Fact]
    public async Task Coordinator_RestartOnSameDatabase_KeepsStoredCaptures()
    {
        string db = Path.Combine(Path.GetTempPath(), $"coordinator-restart-{Guid.NewGuid():N}", "captures.db");
        try
        {
            string id;
            await using (TestCoordinator first = await TestCoordinator.StartAsync(db))
            {
                await first.AddAgentsAsync(3);
                id = (await first.WaitForEndAsync((await first.Client.StartCaptureAsync(TestCoordinator.ShortCapture())).CaptureId)).CaptureId;
            }

            await using TestCoordinator second = await TestCoordinator.StartAsync(db);
            Capture again = await second.Client.GetCaptureAsync(new GetCaptureRequest { CaptureId = id });
            Assert.Equal(CaptureState.Analysed, again.State);
            Assert.Equal(3, again.Hosts.Count);
            Assert.Single(again.Analysis.Events);
            ListCapturesResponse list = await second.Client.ListCapturesAsync(new ListCapturesRequest { Rack = "r1" });
            Assert.Equal(id, Assert.Single(list.Captures).CaptureId);
            GetCaptureSeriesResponse series = await second.Client.GetCaptureSeriesAsync(new GetCaptureSeriesRequest { CaptureId = id, Hosts = { "h02" } });
            Assert.Equal("h02", Assert.Single(series.Runs).Host);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(db)!, recursive: true);
        }
    }

    [Fact]
    public async Task JsonApi_PostCaptureThenGet_ReturnsTheAnalysedCapture()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync();
        await c.AddAgentsAsync(2);

        using HttpResponseMessage post = await c.Http.PostAsync("/api/captures",
            new StringContent("""{"rack":"r1","binWidthNs":1000000,"bins":100}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
        Capture started = JsonParser.Default.Parse<Capture>(await post.Content.ReadAsStringAsync());
        Assert.Equal($"/api/captures/{started.CaptureId}", post.Headers.Location?.ToString());

        // The progress stream: one JSON object per line, the last one final.
        string[] lines = (await c.Http.GetStringAsync($"/api/captures/{started.CaptureId}/progress"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(CaptureState.Analysed, JsonParser.Default.Parse<CaptureProgress>(lines[^1]).State);
        Assert.All(lines, l => Assert.Equal(started.CaptureId, JsonParser.Default.Parse<CaptureProgress>(l).CaptureId));
        string json = await c.Http.GetStringAsync($"/api/captures/{started.CaptureId}");
        Capture got = JsonParser.Default.Parse<Capture>(json);
        Assert.Equal(CaptureState.Analysed, got.State);
        Assert.Contains("\"state\": \"CAPTURE_STATE_ANALYSED\"", json);
        Assert.Single(got.Analysis.Events);

        ListCapturesResponse list = JsonParser.Default.Parse<ListCapturesResponse>(await c.Http.GetStringAsync("/api/captures?rack=r1&from=2020-01-01T00:00:00Z"));
        Assert.Equal(started.CaptureId, Assert.Single(list.Captures).CaptureId);
        GetCaptureSeriesResponse series = JsonParser.Default.Parse<GetCaptureSeriesResponse>(await c.Http.GetStringAsync($"/api/captures/{started.CaptureId}/series?host=h01"));
        Assert.Equal(100, Assert.Single(series.Runs).Series.IngressBytes.Count);
        ListRacksResponse racks = JsonParser.Default.Parse<ListRacksResponse>(await c.Http.GetStringAsync("/api/racks"));
        Assert.Equal(2, Assert.Single(racks.Racks).Hosts.Count);
    }

    [Fact]
    public async Task JsonApi_BadInput_JsonErrorWithGrpcCodeAndHttpStatus()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync();
        await c.AddAgentsAsync(1);

        using HttpResponseMessage bad = await c.Http.PostAsync("/api/captures",
            new StringContent("""{"rack":"r1","binWidthNs":"1000","bins":100}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        ApiErrorBody? error = await bad.Content.ReadFromJsonAsync<ApiErrorBody>();
        Assert.Equal("INVALID_ARGUMENT", error!.Code);
        Assert.StartsWith("binWidthNs: 1000 is out of range; allowed 100000..1000000000 ns", error.Message);

        using HttpResponseMessage missing = await c.Http.GetAsync("/api/captures/nope");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("NOT_FOUND", (await missing.Content.ReadFromJsonAsync<ApiErrorBody>())!.Code);

        Capture first = JsonParser.Default.Parse<Capture>(await (await c.Http.PostAsync("/api/captures",
            new StringContent("""{"rack":"r1","binWidthNs":"1000000","bins":400}""", System.Text.Encoding.UTF8, "application/json"))).Content.ReadAsStringAsync());
        using HttpResponseMessage busy = await c.Http.PostAsync("/api/captures", new StringContent("""{"rack":"r1","binWidthNs":"1000000","bins":10}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.TooManyRequests, busy.StatusCode);
        Assert.Contains(first.CaptureId, (await busy.Content.ReadFromJsonAsync<ApiErrorBody>())!.Message);
        await c.WaitForEndAsync(first.CaptureId);
    }

    [Fact]
    public async Task WatchCapture_StreamsStatesInOrderUntilAnalysed()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync();
        await c.AddAgentsAsync(2);

        StartCaptureRequest request = TestCoordinator.ShortCapture(bins: 200);
        Capture started = await c.Client.StartCaptureAsync(request);
        var states = new List<CaptureState>();
        using AsyncServerStreamingCall<CaptureProgress> watch = c.Client.WatchCapture(new WatchCaptureRequest { CaptureId = started.CaptureId });
        await foreach (CaptureProgress p in watch.ResponseStream.ReadAllAsync())
        {
            if (states.Count == 0 || states[^1] != p.State)
            {
                states.Add(p.State);
            }
        }

        // A watcher may skip a short state (it reads the latest snapshot), never reorder them.
        Assert.Equal(CaptureState.Scheduled, states[0]);
        Assert.Contains(CaptureState.Running, states);
        Assert.Equal(CaptureState.Analysed, states[^1]);
        Assert.Equal(states.Order(), states);
    }

    private sealed record ApiErrorBody(string Code, string Message);
}

[CollectionDefinition(Name)]
public sealed class IntegrationCollection
{
    /// <summary>Integration tests run one at a time: they measure lead times on a 2-core machine.</summary>
    public const string Name = "Coordinator integration";
}

/// <summary>The contention sweep: one capture per rack, busy racks skipped.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class ContentionSweepTests
{
    [Fact]
    public async Task SweepOnce_TwoRacks_OneCapturePerRackAndBusyRacksSkipped()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync(null,
            "--Coordinator:Captures:SweepPeriod=01:00:00", "--Coordinator:Captures:SweepBins=200");
        await c.AddAgentsAsync(2, rack: "r1");
        await c.AddAgentsAsync(2, rack: "r2");
        Millisampler.Coordinator.Captures.ContentionSweep sweep = c.App.Services
            .GetServices<Microsoft.Extensions.Hosting.IHostedService>().OfType<Millisampler.Coordinator.Captures.ContentionSweep>().Single();

        Assert.Equal(2, await sweep.SweepOnceAsync(CancellationToken.None));
        Assert.Equal(0, await sweep.SweepOnceAsync(CancellationToken.None));

        ListCapturesResponse list = await c.Client.ListCapturesAsync(new ListCapturesRequest());
        Assert.Equal(["r1", "r2"], list.Captures.Select(x => x.Rack).Order());
        foreach (Capture x in list.Captures)
        {
            Capture done = await c.WaitForEndAsync(x.CaptureId);
            Assert.Equal(CaptureState.Analysed, done.State);
            Assert.Equal(200u, done.Bins);
            Assert.Equal(1_000_000, done.BinWidthNs);
        }
    }
}
