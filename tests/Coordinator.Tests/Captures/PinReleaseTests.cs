using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Membership;
using Millisampler.Coordinator.Storage;
using Millisampler.Coordinator.Tests.Infrastructure;

namespace Millisampler.Coordinator.Tests.Captures;

/// <summary>
/// Runs the coordinator will never fetch have their agent pins released (ReleaseRun), so that retention can reclaim
/// them before the pins lapse: a capture a coordinator stop interrupted (also after a restart), a look-back window
/// already stored, a host armed but not collected.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class PinReleaseTests
{
    private const long Ms = 1_000_000;
    private const string FastReleases = "--Coordinator:Captures:PinReleaseInterval=00:00:00.050";

    [Fact]
    public async Task CoordinatorStoppedMidCapture_AgentsPinsReleasedByTheRestartedCoordinator()
    {
        string db = Path.Combine(Path.GetTempPath(), $"coordinator-pins-{Guid.NewGuid():N}", "captures.db");
        var agents = new List<FakeAgent>();
        try
        {
            string id;
            // The first coordinator never releases (a pass every 10 minutes), so only the restarted one can.
            await using (TestCoordinator first = await TestCoordinator.StartAsync(db, "--Coordinator:Captures:PinReleaseInterval=00:10:00"))
            {
                foreach (string host in new[] { "p1", "p2" })
                {
                    FakeAgent agent = await FakeAgent.StartAsync(host, "r1", TestCoordinator.Clock, first.Secure);
                    agents.Add(agent);
                    await agent.RegisterAsync(first.GrpcUrl);
                }

                // 2,000 × 10 ms: 20 s, far longer than the test lets it run.
                Capture started = await first.Client.StartCaptureAsync(new StartCaptureRequest { Rack = "r1", BinWidthNs = 10 * Ms, Bins = 2000 });
                id = started.CaptureId;
                await WaitUntilAsync(() => agents.All(a => a.ScheduleCalls.Any(c => c.Request.RunId == id)));

                // Wait out the first pass, which ran at the start, so the stop is what owes the releases.
                await Task.Delay(200);
                Assert.All(agents, a => Assert.Empty(a.ReleaseCalls));
            }

            var owed = new SqliteStore(Options.Create(new StorageOptions { DatabasePath = db }), Options.Create(new MembershipOptions()),
                TimeProvider.System, NullLogger<SqliteStore>.Instance);
            Assert.Equal(["p1", "p2"], (await owed.ListPinReleasesAsync(100, default)).Where(r => r.RunId == id).Select(r => r.Host).Order());
            owed.Dispose();

            await using TestCoordinator second = await TestCoordinator.StartAsync(db, FastReleases);
            Assert.Equal(CaptureState.Failed, (await second.Client.GetCaptureAsync(new GetCaptureRequest { CaptureId = id })).State);
            foreach (FakeAgent agent in agents)
            {
                await agent.RegisterAsync(second.GrpcUrl);
            }

            await WaitUntilAsync(() => agents.All(a => a.ReleaseCalls.Any(r => r.RunId == id)));
            var store = second.App.Services.GetRequiredService<IPinReleaseStore>();
            await WaitUntilAsync(() => store.ListPinReleasesAsync(100, default).Result.Count == 0);
            Assert.All(agents, a => Assert.Single(a.ReleaseCalls, r => r.RunId == id));
        }
        finally
        {
            foreach (FakeAgent agent in agents)
            {
                await agent.DisposeAsync();
            }

            Directory.Delete(Path.GetDirectoryName(db)!, recursive: true);
        }
    }

    [Fact]
    public async Task WindowCapture_Stored_ReleasesTheWindowsPinOnEveryHostRead()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync(null, FastReleases);
        await c.AddAgentsAsync(3);
        await c.WaitForProbesAsync();

        Capture done = await c.WaitForEndAsync((await c.Client.StartCaptureAsync(new StartCaptureRequest { Rack = "r1", LookbackNs = 500 * Ms })).CaptureId);
        Assert.Equal(CaptureState.Analysed, done.State);

        await WaitUntilAsync(() => c.Agents.All(a => a.ReleaseCalls.Any(r => r.RunId == done.CaptureId)));
        Assert.All(c.Agents, a => Assert.Single(a.ReleaseCalls));
    }

    [Fact]
    public async Task ForwardCapture_HostNotCollected_OnlyThatHostsPinReleased()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync(null, FastReleases);
        await c.AddAgentsAsync(3, configure: (i, a) => a.RunMode = i == 1 ? RunMode.Hang : RunMode.Complete);

        Capture done = await c.WaitForEndAsync((await c.Client.StartCaptureAsync(TestCoordinator.ShortCapture())).CaptureId);
        Assert.Equal(HostOutcomeKind.HostOutcomeFailed, done.Hosts.Single(h => h.Host == "h02").Outcome);

        await WaitUntilAsync(() => c.Agents[1].ReleaseCalls.Any(r => r.RunId == done.CaptureId));
        // The collected hosts' pins went with GetRun; they are not sent a release.
        await Task.Delay(300);
        Assert.Empty(c.Agents[0].ReleaseCalls);
        Assert.Empty(c.Agents[2].ReleaseCalls);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!condition())
        {
            await Task.Delay(20, cts.Token);
        }
    }
}
