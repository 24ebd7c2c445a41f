using System.Diagnostics;
using System.Net;
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;

namespace Millisampler.Agent.Tests.Service;

/// <summary>
/// The agent's operational surface on a real host (Kestrel on loopback, fake engine and clock): /healthz, /readyz and
/// /metrics on the HTTP/1.1 metrics port, grpc.health.v1 and reflection on the gRPC port. Alone in their collection:
/// the agent's meter is static, so another test's agent running at the same time would add its own store to the gauges.
/// </summary>
[Collection(AgentMetricsCollection.Name)]
public sealed class AgentHealthAndMetricsTests
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    [Fact]
    public async Task Health_AllConditionsHold_LiveAndReadyAnswer200()
    {
        await using var agent = await AgentTestHost.StartAsync();

        var live = await Http.GetAsync(agent.MetricsAddress + "/healthz");
        var ready = await Http.GetAsync(agent.MetricsAddress + "/readyz");

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Contains("\"status\": \"Healthy\"", await ready.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Health_ProgramDetached_LivenessAndReadinessUnhealthy_GrpcNotServing()
    {
        await using var agent = await AgentTestHost.StartAsync();
        var health = new Health.HealthClient(agent.Channel);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest { Service = "liveness" })).Status);

        agent.Engine.Attached = false;

        var live = await Http.GetAsync(agent.MetricsAddress + "/healthz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, live.StatusCode);
        Assert.Contains("no longer on tcx ingress of eth0", await live.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await Http.GetAsync(agent.MetricsAddress + "/readyz")).StatusCode);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, (await health.CheckAsync(new HealthCheckRequest { Service = "liveness" })).Status);
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, (await health.CheckAsync(new HealthCheckRequest())).Status);
    }

    [Fact]
    public async Task Readiness_StoreDirectoryImmutable_UnhealthyNamingTheStore_LivenessStaysUp()
    {
        await using var agent = await AgentTestHost.StartAsync();
        // Root ignores permission bits; the immutable attribute stops root too.
        Chattr("+i", agent.StoreDirectory);
        try
        {
            var ready = await Http.GetAsync(agent.MetricsAddress + "/readyz");
            string body = await ready.Content.ReadAsStringAsync();

            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            Assert.Contains("is not writable", body);
            Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(agent.MetricsAddress + "/healthz")).StatusCode);
        }
        finally
        {
            Chattr("-i", agent.StoreDirectory);
        }

        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync(agent.MetricsAddress + "/readyz")).StatusCode);
    }

    [Fact]
    public async Task Readiness_ClockUnsynchronized_DegradedButStillReady()
    {
        await using var agent = await AgentTestHost.StartAsync();
        agent.Clock.Synchronized = false;

        var ready = await Http.GetAsync(agent.MetricsAddress + "/readyz");
        string body = await ready.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        Assert.Contains("\"status\": \"Degraded\"", body);
        Assert.Contains("clock not synchronized", body);
    }

    [Fact]
    public async Task Metrics_Scraped_ShowHooksClockStoreAndKernelCounters()
    {
        await using var agent = await AgentTestHost.StartAsync();
        // The store reports once it has opened (a hosted service that may finish after the host started).
        await AgentGrpcServiceTests.WaitUntilAsync(() => agent.Logs.Entries.Any(e => e.Message.StartsWith("Run store opened", StringComparison.Ordinal)));

        string text = await Http.GetStringAsync(agent.MetricsAddress + "/metrics");

        Assert.Contains("millisampler_agent_program_attached{", text);
        Assert.Matches("millisampler_agent_program_attached\\{[^}]*attach_mode=\"tcx\"[^}]*direction=\"ingress\"[^}]*interface=\"eth0\"[^}]*\\} 1", text);
        Assert.Matches("millisampler_agent_clock_synchronized(\\{[^}]*\\})? 1", text);
        Assert.Matches("millisampler_agent_clock_max_error_seconds(\\{[^}]*\\})? 2E-05", text);
        Assert.Matches("millisampler_agent_store_runs(\\{[^}]*\\})? 0", text);
        Assert.Matches("millisampler_agent_kernel_packets_armed_late_total(\\{[^}]*\\})? 2", text);
        Assert.Matches("millisampler_agent_kernel_parse_failures_total(\\{[^}]*\\})? 3", text);

        agent.Engine.Attached = false;
        const string detached = "millisampler_agent_program_attached\\{[^}]*direction=\"egress\"[^}]*\\} 0";
        string after = await GetUntilAsync(agent.MetricsAddress + "/metrics", detached);
        Assert.Matches(detached, after);
    }

    [Fact]
    public async Task Reflection_ListsTheAgentAndHealthServices()
    {
        await using var agent = await AgentTestHost.StartAsync();
        var reflection = new ServerReflection.ServerReflectionClient(agent.Channel);

        using var call = reflection.ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        var names = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToList();

        Assert.Contains(names, n => n.EndsWith(".AgentService", StringComparison.Ordinal));
        Assert.Contains("grpc.health.v1.Health", names);
    }

    /// <summary>The exporter caches a scrape for a moment: reads again until <paramref name="pattern"/> shows (or 5 s pass).</summary>
    private static async Task<string> GetUntilAsync(string url, string pattern)
    {
        string text = await Http.GetStringAsync(url);
        for (int i = 0; i < 50 && !System.Text.RegularExpressions.Regex.IsMatch(text, pattern); i++)
        {
            await Task.Delay(100);
            text = await Http.GetStringAsync(url);
        }

        return text;
    }

    private static void Chattr(string flag, string path)
    {
        using var p = Process.Start("chattr", [flag, path])!;
        p.WaitForExit();
        Assert.Equal(0, p.ExitCode);
    }
}

/// <summary>Runs its tests with no other test of this assembly at the same time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class AgentMetricsCollection
{
    public const string Name = "agent-metrics";
}
