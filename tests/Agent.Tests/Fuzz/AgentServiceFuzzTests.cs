using Google.Protobuf;
using Millisampler.Agent.Tests.Service;
using Millisampler.Contracts.V1;
using Millisampler.Tests.Fuzz;

namespace Millisampler.Agent.Tests.Fuzz;

/// <summary>Seeded mutations of valid requests to every AgentService method: never UNKNOWN or INTERNAL, never a stack trace.</summary>
public sealed class AgentServiceFuzzTests
{
    [Fact]
    public async Task MutatedRequests_EveryMethod_NoUnknownOrInternalAndNoStackTrace()
    {
        await using AgentTestHost agent = await AgentTestHost.StartAsync(["--Logging:LogLevel:Default=Information"]);
        // A stored run, so GetRun and ReadWindow requests near valid ones reach the store's paths too.
        await agent.Client.ScheduleRunAsync(agent.Request("seed-run", bins: 10));
        await agent.AdvanceAsync(TimeSpan.FromSeconds(1));
        long now = agent.Clock.NowTaiNs();
        var seeds = new Dictionary<string, IMessage[]>
        {
            ["GetInfo"] = [new GetInfoRequest()],
            ["ScheduleRun"] =
            [
                agent.Request("fuzz-1"),
                agent.Request("fuzz-2", leadMs: 2_000, binWidthNs: 100_000, bins: 50),
                new ScheduleRunRequest { RunId = "r", StartTaiNs = now + 500_000_000, BinWidthNs = 10_000_000, Bins = 1, Requester = "coordinator" },
            ],
            ["GetRun"] = [new GetRunRequest { RunId = "seed-run" }, new GetRunRequest { RunId = "no-such-run" }],
            ["ListRuns"] =
            [
                new ListRunsRequest(),
                new ListRunsRequest { FromTaiNs = now - 60_000_000_000, ToTaiNs = now, BinWidthNs = 1_000_000, Limit = 10 },
            ],
            ["ReadWindow"] =
            [
                new ReadWindowRequest { RunId = "window-1", FirstBin = (now / 1_000_000) - 100, Bins = 50, BinWidthNs = 1_000_000, Requester = "coordinator" },
            ],
            ["ReleaseRun"] =
            [
                new ReleaseRunRequest { RunId = "seed-run", Requester = "coordinator" },
                new ReleaseRunRequest { RunId = "fuzz-1", Requester = "coordinator" },
            ],
        };

        IReadOnlyList<string> forbidden = await FuzzRun.RunAsync(agent.Channel.CreateCallInvoker(), AgentService.Descriptor, seeds, seed: 8);

        Assert.True(forbidden.Count == 0, $"{forbidden.Count} UNKNOWN/INTERNAL answers, first: {string.Join("\n", forbidden.Take(5))}");
        Assert.Empty(FuzzRun.StackTraces(agent.Logs.All.Select(e => (e.Category, e.Message, e.Exception))));
    }
}
