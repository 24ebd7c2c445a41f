using System.Net;
using System.Text;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Tests.Captures;
using Millisampler.Coordinator.Tests.Infrastructure;

namespace Millisampler.Coordinator.Tests.Sweeps;

/// <summary>Sweeps through the real coordinator: definitions over gRPC and JSON, captures of fake racks, summaries, the report.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class SweepIntegrationTests
{
    private static SweepDefinition TwoWidths(string name) => new()
    {
        Name = name,
        Racks = new SweepRacks { Pattern = "r*" },
        Widths = { new SweepWidth { BinWidthNs = 1_000_000, Bins = 100 }, new SweepWidth { BinWidthNs = 10_000_000, Bins = 20 } },
        PeriodNs = 3_600_000_000_000,
        Alignment = SweepAlignment.FleetSynchronized,
    };

    [Fact]
    public async Task Sweep_TwoRacksTwoWidths_SummariesInTheReport_ThenPaused()
    {
        // Fleet-synchronized over 1 h, the two widths' slots are due at :00 and :30 of every hour (spaced by period /
        // widths). Every slot is due at once when the sweep is created; the test stays clear of the next due instants
        // so that it sees exactly one period (it ran across one under load and saw 6 captures).
        DateTimeOffset now = DateTimeOffset.UtcNow;
        int intoHalfHour = (now.Minute % 30 * 60) + now.Second;
        if (intoHalfHour >= 29 * 60)
        {
            await Task.Delay(TimeSpan.FromSeconds((30 * 60) - intoHalfHour + 1));
        }

        await using TestCoordinator c = await TestCoordinator.StartAsync(null, "--Coordinator:Sweeps:TickInterval=00:00:00.200");
        await c.AddAgentsAsync(2, rack: "r1");
        await c.AddAgentsAsync(2, rack: "r2");
        var sweeps = new SweepService.SweepServiceClient(c.Channel);

        Sweep created = await sweeps.CreateSweepAsync(new CreateSweepRequest { Definition = TwoWidths("s1") });
        Assert.Equal(4u, created.Definition.MaxConcurrent);

        SweepReport report = await WaitForTrendRowsAsync(sweeps, 4);
        Assert.Equal([("r1", 1_000_000L), ("r1", 10_000_000L), ("r2", 1_000_000L), ("r2", 10_000_000L)],
            report.Trends.Select(t => (t.Rack, t.BinWidthNs)));
        Assert.All(report.Trends, t => Assert.Equal(1u, t.Captures));
        Assert.Equal(["r1", "r2"], report.ByContention.Select(r => r.Rack).Order());
        ListCapturesResponse captures = await c.Client.ListCapturesAsync(new ListCapturesRequest());
        Assert.Equal(4, captures.Captures.Count);
        Assert.All(captures.Captures, k => Assert.Equal((CaptureOrigin.Sweep, "s1", "sweep:s1"), (k.Origin, k.OriginName, k.RequestedBy)));

        // One period: nothing more, however many ticks.
        await Task.Delay(1000);
        Assert.Equal(4, (await c.Client.ListCapturesAsync(new ListCapturesRequest())).Captures.Count);

        Assert.True((await sweeps.PauseSweepAsync(new SweepName { Name = "s1" })).Paused);
        Assert.False((await sweeps.ResumeSweepAsync(new SweepName { Name = "s1" })).Paused);
        await sweeps.DeleteSweepAsync(new SweepName { Name = "s1" });
        RpcException missing = await Assert.ThrowsAsync<RpcException>(() => sweeps.GetSweepAsync(new SweepName { Name = "s1" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task Create_BadDefinitions_InvalidArgumentNamingEveryProblem_DuplicateAlreadyExists()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync(null, "--Coordinator:Sweeps:Enabled=false");
        var sweeps = new SweepService.SweepServiceClient(c.Channel);
        SweepDefinition bad = TwoWidths("bad name!");
        bad.Widths.Add(new SweepWidth { BinWidthNs = 5_000_000, Bins = 0 });
        bad.JitterNs = bad.PeriodNs;

        RpcException ex = await Assert.ThrowsAsync<RpcException>(() => sweeps.CreateSweepAsync(new CreateSweepRequest { Definition = bad }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
        Assert.Contains("name:", ex.Status.Detail);
        Assert.Contains("5000000 is not one of", ex.Status.Detail);
        Assert.Contains("widths.bins: 0", ex.Status.Detail);
        Assert.Contains("jitter_ns", ex.Status.Detail);

        await sweeps.CreateSweepAsync(new CreateSweepRequest { Definition = TwoWidths("ok") });
        RpcException dup = await Assert.ThrowsAsync<RpcException>(() => sweeps.CreateSweepAsync(new CreateSweepRequest { Definition = TwoWidths("ok") }).ResponseAsync);
        Assert.Equal(StatusCode.AlreadyExists, dup.StatusCode);
    }

    [Fact]
    public async Task JsonApi_CreateListReport()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync(null, "--Coordinator:Sweeps:Enabled=false");
        string body = """{"name":"j1","racks":{"all":true},"widths":[{"binWidthNs":"1000000","bins":2000}],"periodNs":"3600000000000"}""";

        HttpResponseMessage created = await c.Http.PostAsync("/api/sweeps", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        Assert.Contains("\"j1\"", await c.Http.GetStringAsync("/api/sweeps"));
        Assert.Contains("STAGGERED", await c.Http.GetStringAsync("/api/sweeps/j1"));
        HttpResponseMessage report = await c.Http.GetAsync("/api/sweeps/report?bucket=hour&rack=r1");
        Assert.Equal(HttpStatusCode.OK, report.StatusCode);
        HttpResponseMessage badBucket = await c.Http.GetAsync("/api/sweeps/report?bucket=week");
        Assert.Equal(HttpStatusCode.BadRequest, badBucket.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await c.Http.PostAsync("/api/sweeps/nope/pause", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await c.Http.DeleteAsync("/api/sweeps/j1")).StatusCode);
    }

    private static async Task<SweepReport> WaitForTrendRowsAsync(SweepService.SweepServiceClient sweeps, int rows)
    {
        SweepReport report = new();
        for (int i = 0; i < 300 && report.Trends.Count < rows; i++)
        {
            await Task.Delay(100);
            report = await sweeps.GetSweepReportAsync(new SweepReportRequest { Sweep = "s1", Bucket = TrendBucket.Hour });
        }

        return report;
    }
}
