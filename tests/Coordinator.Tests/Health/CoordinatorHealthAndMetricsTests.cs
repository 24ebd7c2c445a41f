using System.Diagnostics;
using System.Globalization;
using System.Net;
using Grpc.Health.V1;
using Microsoft.Extensions.DependencyInjection;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Tests.Captures;
using Millisampler.Coordinator.Tests.Infrastructure;
using Capture = Millisampler.Contracts.V1.Capture;
using Regex = System.Text.RegularExpressions.Regex;
using RegexOptions = System.Text.RegularExpressions.RegexOptions;

namespace Millisampler.Coordinator.Tests.Health;

/// <summary>The coordinator's /metrics, /healthz, /readyz and grpc.health.v1 on the real host with fake agents.</summary>
[Collection(IntegrationCollection.Name)]
public sealed partial class CoordinatorHealthAndMetricsTests
{
    [Fact]
    public async Task Metrics_AfterAnalysedCapture_RackGaugesEqualTheAnalysis()
    {
        // Fake agents do not heartbeat: a long interval keeps them healthy for the test.
        await using TestCoordinator c = await TestCoordinator.StartAsync(null, "--Coordinator:Membership:HeartbeatInterval=00:01:00");
        await c.AddAgentsAsync(6);
        Capture started = await c.Client.StartCaptureAsync(TestCoordinator.ShortCapture());
        Capture done = await c.WaitForEndAsync(started.CaptureId);
        Assert.Equal(CaptureState.Analysed, done.State);

        string text = await c.Http.GetStringAsync("/metrics");

        const string Rack = "bin_width=\"1ms\",[^}]*rack=\"r1\"";
        Assert.Equal(done.Analysis.Contention.Max(), (uint)Value(text, "millisampler_coordinator_rack_contention_max", Rack));
        Assert.Equal(done.Analysis.Bursts.Count, (int)Value(text, "millisampler_coordinator_rack_bursts", Rack));
        Assert.Equal(done.Analysis.Events.Count, (int)Value(text, "millisampler_coordinator_rack_sync_events", Rack));
        double contended = done.Analysis.Contention.Count(x => x >= 2) / (double)done.Analysis.Contention.Count;
        Assert.Equal(contended, Value(text, "millisampler_coordinator_rack_contention_contended_bins_ratio", Rack), 6);
        Assert.Equal(6, Value(text, "millisampler_coordinator_hosts", "health=\"healthy\",[^}]*rack=\"r1\""));
        Assert.Equal(0, Value(text, "millisampler_coordinator_hosts", "health=\"stale\",[^}]*rack=\"r1\""));
        Assert.Equal(1, Value(text, "millisampler_coordinator_host_clock_synchronized", "host=\"h01\",[^}]*rack=\"r1\""));
        Assert.True(Value(text, "millisampler_coordinator_captures_ended_total", "origin=\"[a-z_]+\",[^}]*outcome=\"analysed\"") >= 1);
        Assert.Contains("millisampler_coordinator_collect_duration_seconds_bucket", text);
        Assert.DoesNotContain(done.CaptureId, text);
    }

    [Fact]
    public async Task MetricsUrl_PlainHttp_ServesMetricsAndHealthOnly_WhileTheApiStaysTls()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync(null, "--metrics-url", "http://127.0.0.1:0");
        int port = c.App.Services.GetRequiredService<Millisampler.Coordinator.Api.KestrelEndpoints>().MetricsEndPoint!.Port;
        using var plain = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

        HttpResponseMessage metrics = await plain.GetAsync("/metrics");
        HttpResponseMessage live = await plain.GetAsync("/healthz");
        HttpResponseMessage ready = await plain.GetAsync("/readyz");
        HttpResponseMessage api = await plain.GetAsync("/api/racks");
        HttpResponseMessage ui = await plain.GetAsync("/ui/");
        HttpResponseMessage apiOverTls = await c.Http.GetAsync("/api/racks");

        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.Contains("# TYPE ", await metrics.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, api.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, ui.StatusCode);
        Assert.Equal(HttpStatusCode.OK, apiOverTls.StatusCode);
    }

    // The database's directory and every file in it made immutable: writes fail, the process lives. This crashed the
    // test host with SIGBUS while the store used WAL (the immutable -shm index is mapped writable; see SqliteStore).
    [Fact]
    public async Task Health_DatabaseImmutable_ReadinessUnhealthy_GrpcNotServing()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync();
        var health = new Grpc.Health.V1.Health.HealthClient(c.Channel);
        Assert.Equal(HttpStatusCode.OK, (await c.Http.GetAsync("/readyz")).StatusCode);

        string dir = Path.GetDirectoryName(c.DatabasePath)!;
        string[] paths = [.. Directory.GetFiles(dir), dir];
        foreach (string p in paths)
        {
            Chattr("+i", p);
        }

        try
        {
            var ready = await c.Http.GetAsync("/readyz");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            Assert.Contains("does not take writes", await ready.Content.ReadAsStringAsync());
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, (await health.CheckAsync(new HealthCheckRequest())).Status);
            Assert.Equal(HttpStatusCode.OK, (await c.Http.GetAsync("/healthz")).StatusCode);
        }
        finally
        {
            foreach (string p in paths)
            {
                Chattr("-i", p);
            }
        }

        Assert.Equal(HttpStatusCode.OK, (await c.Http.GetAsync("/readyz")).StatusCode);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest())).Status);
    }

    [Fact]
    public async Task Readiness_JustStarted_MembershipDegradedButReady()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync(null, "--Coordinator:Membership:HeartbeatInterval=00:01:00");

        var ready = await c.Http.GetAsync("/readyz");
        string body = await ready.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Contains("membership still loading", body);
    }

    /// <summary>The value of the one sample of <paramref name="name"/> whose labels match <paramref name="labels"/>.</summary>
    private static double Value(string text, string name, string labels)
    {
        var matches = Regex.Matches(text, $"^{name}\\{{[^}}]*{labels}[^}}]*\\}} (\\S+)", RegexOptions.Multiline);
        Assert.True(matches.Count == 1, $"{matches.Count} samples of {name} with {labels} in:\n{text}");
        return double.Parse(matches[0].Groups[1].Value, CultureInfo.InvariantCulture);
    }

    private static void Chattr(string flag, string path)
    {
        using var p = Process.Start("chattr", [flag, path])!;
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
    }
}
