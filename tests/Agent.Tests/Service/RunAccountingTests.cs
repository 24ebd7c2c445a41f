using Millisampler.Agent.Storage;
using Millisampler.Contracts.V1;

namespace Millisampler.Agent.Tests.Service;

/// <summary>Every run accounted for: a run the store refuses is listed and served, saved when it can be, lost (with its window) when the agent stops first.</summary>
public sealed class RunAccountingTests
{
    [Fact]
    public async Task StoreRefusesRun_ListedAndServedAsNotStored_ThenStoredOnceTheStoreAcceptsAgain()
    {
        await using AgentTestHost agent = await AgentTestHost.StartAsync();
        ScheduleRunRequest request = agent.Request("refused", leadMs: 100, bins: 10);
        // The store cannot write the run's file: a directory stands where its file goes (rename(2) over it fails).
        string blocked = Path.Combine(agent.StoreDirectory, new RunFileName("refused", request.StartTaiNs, request.BinWidthNs, RunOrigin.Coordinator).Format());
        Directory.CreateDirectory(blocked);

        await agent.Client.ScheduleRunAsync(request);
        await agent.Engine.WaitArmedAsync("refused");
        await agent.AdvanceAsync(TimeSpan.FromMilliseconds(300));
        Run served = await agent.Client.GetRunAsync(new GetRunRequest { RunId = "refused" }, deadline: DateTime.UtcNow.AddSeconds(10));
        RunSummary listed = Assert.Single((await agent.Client.ListRunsAsync(new ListRunsRequest())).Runs, r => r.RunId == "refused");

        Assert.Equal(RunStatus.Complete, served.Status);
        Assert.StartsWith("NOT STORED (", served.StatusDetail);
        Assert.Equal((RunStatus.Complete, 10u), (listed.Status, listed.BinsRecorded));
        Assert.StartsWith("NOT STORED (", listed.StatusDetail);

        // Space comes back; the next stored run takes the refused one with it.
        Directory.Delete(blocked);
        await agent.Client.ScheduleRunAsync(agent.Request("next", leadMs: 100, bins: 10));
        await agent.Engine.WaitArmedAsync("next");
        await agent.AdvanceAsync(TimeSpan.FromMilliseconds(300));
        await agent.Client.GetRunAsync(new GetRunRequest { RunId = "next" }, deadline: DateTime.UtcNow.AddSeconds(10));

        Assert.True(File.Exists(blocked));
        RunSummary stored = Assert.Single((await agent.Client.ListRunsAsync(new ListRunsRequest())).Runs, r => r.RunId == "refused");
        Assert.Equal((RunStatus.Complete, 10u, ""), (stored.Status, stored.BinsRecorded, stored.StatusDetail));
        Assert.Empty(Directory.GetFiles(Path.Combine(agent.StoreDirectory, "armed")));
    }

    [Fact]
    public async Task StoreRefusesRun_AgentStopsFirst_LostRecordWithItsWindowAfterRestart()
    {
        string directory = Directory.CreateTempSubdirectory("ms-agent-lost-").FullName;
        try
        {
            ScheduleRunRequest request;
            string blocked;
            await using (AgentTestHost agent = await AgentTestHost.StartAsync(storeDirectory: directory))
            {
                request = agent.Request("refused", leadMs: 100, bins: 10);
                blocked = Path.Combine(directory, new RunFileName("refused", request.StartTaiNs, request.BinWidthNs, RunOrigin.Coordinator).Format());
                Directory.CreateDirectory(blocked);
                await agent.Client.ScheduleRunAsync(request);
                await agent.Engine.WaitArmedAsync("refused");
                await agent.AdvanceAsync(TimeSpan.FromMilliseconds(300));
                await agent.Client.GetRunAsync(new GetRunRequest { RunId = "refused" }, deadline: DateTime.UtcNow.AddSeconds(10));
            }

            Directory.Delete(blocked);
            await using AgentTestHost restarted = await AgentTestHost.StartAsync(storeDirectory: directory);
            Run lost = await restarted.Client.GetRunAsync(new GetRunRequest { RunId = "refused" }, deadline: DateTime.UtcNow.AddSeconds(10));
            RunSummary listed = Assert.Single((await restarted.Client.ListRunsAsync(new ListRunsRequest())).Runs, r => r.RunId == "refused");

            Assert.Equal((RunStatus.Lost, request.StartTaiNs, request.BinWidthNs, request.Bins, 0u), (lost.Status, lost.StartTaiNs, lost.BinWidthNs, lost.Bins, lost.BinsRecorded));
            Assert.StartsWith("lost: ", lost.StatusDetail);
            Assert.Equal(RunStatus.Lost, listed.Status);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
