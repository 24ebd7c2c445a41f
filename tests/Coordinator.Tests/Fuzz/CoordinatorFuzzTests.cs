using Google.Protobuf;
using Google.Protobuf.Reflection;
using Grpc.Net.Client;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Tests.Captures;
using Millisampler.Coordinator.Tests.Infrastructure;
using Millisampler.ServiceDefaults.Security;
using Millisampler.Tests.Fuzz;

namespace Millisampler.Coordinator.Tests.Fuzz;

/// <summary>
/// Seeded mutations of valid requests to every method of the coordinator's three services, over mutual TLS as a
/// real caller (an admin engineer; an agent for membership): never UNKNOWN or INTERNAL, never a stack trace.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class CoordinatorFuzzTests
{
    private static readonly string[] DefaultLevels = ["--Logging:LogLevel:Default=Information", "--Logging:LogLevel:Millisampler=Information"];

    [Fact]
    public async Task CoordinatorService_MutatedRequests_NoUnknownOrInternalAndNoStackTrace()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync(null, DefaultLevels);
        await c.AddAgentsAsync(2);
        Capture done = await c.WaitForEndAsync((await c.Client.StartCaptureAsync(TestCoordinator.ShortCapture(bins: 20))).CaptureId);
        var seeds = new Dictionary<string, IMessage[]>
        {
            ["StartCapture"] =
            [
                TestCoordinator.ShortCapture(bins: 10),
                new StartCaptureRequest { Rack = "r1", BinWidthNs = 1_000_000, Bins = 10, Hosts = { "h01" }, LeadTimeNs = 500_000_000, BurstThreshold = 0.5, EventMinHosts = 2 },
            ],
            ["WatchCapture"] = [new WatchCaptureRequest { CaptureId = done.CaptureId }],
            ["GetCapture"] = [new GetCaptureRequest { CaptureId = done.CaptureId }],
            ["ListCaptures"] = [new ListCapturesRequest(), new ListCapturesRequest { Rack = "r1", FromUnixNs = 1, ToUnixNs = long.MaxValue / 2, Limit = 5 }],
            ["ListRacks"] = [new ListRacksRequest()],
            ["GetCaptureSeries"] = [new GetCaptureSeriesRequest { CaptureId = done.CaptureId }, new GetCaptureSeriesRequest { CaptureId = done.CaptureId, Hosts = { "h01" } }],
            ["ListTriggers"] = [new ListTriggersRequest(), new ListTriggersRequest { Rack = "r1", FromUnixNs = 1, Limit = 5 }],
            ["GetTriggerPolicy"] = [new GetTriggerPolicyRequest()],
        };

        await AssertCleanAsync(c, c.Channel, CoordinatorService.Descriptor, seeds, seed: 81);
    }

    [Fact]
    public async Task MembershipService_MutatedRequests_NoUnknownOrInternalAndNoStackTrace()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync(null, DefaultLevels);
        IReadOnlyList<FakeAgent> agents = await c.AddAgentsAsync(1);
        using GrpcChannel h01 = c.OpenChannel("h01", Roles.Agent);
        long lastBin = (TestCoordinator.Clock.NowNs() / 1_000_000) - 1;
        var seeds = new Dictionary<string, IMessage[]>
        {
            ["Register"] =
            [
                new RegisterRequest
                {
                    Host = "h01", Rack = "r1", Address = agents[0].Address, AgentVersion = "1.0",
                    Interfaces = { new InterfaceInfo { Name = "eth0", Ifindex = 2, LinkSpeedBitsPerSecond = 25_000_000_000 } },
                },
            ],
            ["Heartbeat"] = [new HeartbeatRequest { Host = "h01", Rack = "r1" }],
            ["ReportTrigger"] =
            [
                new TriggerReport
                {
                    Host = "h01", Rack = "r1", Rule = "ingress", BinWidthNs = 1_000_000, FirstBin = lastBin - 20, LastBin = lastBin,
                    InstantTaiNs = (lastBin + 1) * 1_000_000, Values = { ["ingress_fraction"] = 0.97 },
                },
            ],
        };

        await AssertCleanAsync(c, h01, MembershipService.Descriptor, seeds, seed: 82);
    }

    [Fact]
    public async Task SweepService_MutatedRequests_NoUnknownOrInternalAndNoStackTrace()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync(null, DefaultLevels);
        await c.AddAgentsAsync(1);
        var definition = new SweepDefinition
        {
            Name = "fuzz",
            Racks = new SweepRacks { Pattern = "r*" },
            Widths = { new SweepWidth { BinWidthNs = 1_000_000, Bins = 100 }, new SweepWidth { BinWidthNs = 10_000_000, Bins = 20 } },
            PeriodNs = 3_600_000_000_000,
            JitterNs = 60_000_000_000,
            Alignment = SweepAlignment.FleetSynchronized,
            MaxConcurrent = 2,
            Window = new SweepWindow { StartMinute = 60, EndMinute = 120 },
        };
        await new SweepService.SweepServiceClient(c.Channel).CreateSweepAsync(new CreateSweepRequest { Definition = definition });
        var name = new SweepName { Name = "fuzz" };
        var seeds = new Dictionary<string, IMessage[]>
        {
            ["CreateSweep"] = [new CreateSweepRequest { Definition = definition }],
            ["ListSweeps"] = [new ListSweepsRequest()],
            ["GetSweep"] = [name],
            ["PauseSweep"] = [name],
            ["ResumeSweep"] = [name],
            ["DeleteSweep"] = [new SweepName { Name = "other" }],
            ["GetSweepReport"] =
            [
                new SweepReportRequest { Sweep = "fuzz", Rack = "r1", BinWidthNs = 1_000_000, FromUnixNs = 1, ToUnixNs = long.MaxValue / 2, Bucket = TrendBucket.Hour },
            ],
        };

        await AssertCleanAsync(c, c.Channel, SweepService.Descriptor, seeds, seed: 83);
    }

    private static async Task AssertCleanAsync(TestCoordinator c, GrpcChannel channel, ServiceDescriptor service, Dictionary<string, IMessage[]> seeds, int seed)
    {
        IReadOnlyList<string> forbidden = await FuzzRun.RunAsync(channel.CreateCallInvoker(), service, seeds, seed);

        Assert.True(forbidden.Count == 0, $"{forbidden.Count} UNKNOWN/INTERNAL answers, first:\n{string.Join("\n", forbidden.Take(5))}");
        Assert.Empty(FuzzRun.StackTraces(c.Logs.All.Select(e => (e.Category, e.Message, e.Exception))));
    }
}
