using Grpc.Core;
using Millisampler.Agent.Service;
using Millisampler.Contracts.V1;

namespace Millisampler.Agent.Tests.Service;

/// <summary>The attacks of issue 8 on one agent: a squatting run, and a flood of runs pinned until fetched.</summary>
public sealed class AgentQuotaTests : IAsyncLifetime
{
    private AgentTestHost _agent = null!;

    public async Task InitializeAsync() => _agent = await AgentTestHost.StartAsync();

    public async Task DisposeAsync() => await _agent.DisposeAsync();

    [Fact]
    public void MaxRunDuration_DefaultsToOneMinute()
    {
        Assert.Equal(TimeSpan.FromSeconds(60), new AgentOptions().MaxRunDuration);
    }

    [Fact]
    public async Task ScheduleRun_Squat2000BinsOf1s_InvalidArgumentNamingTheLimit()
    {
        var squat = _agent.Request("squat-1", leadMs: 300, binWidthNs: 1_000_000_000, bins: 2000);

        var e = await Assert.ThrowsAsync<RpcException>(() => _agent.Client.ScheduleRunAsync(squat).ResponseAsync);

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("Agent:MaxRunDuration", e.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("2000 x 1s", e.Status.Detail, StringComparison.Ordinal);
        // The rack's real capture is not refused as overlapping.
        var real = await _agent.Client.ScheduleRunAsync(_agent.Request("real", leadMs: 400, binWidthNs: 10_000_000, bins: 2000));
        Assert.False(real.Duplicate);
    }

    [Fact]
    public async Task ScheduleRun_JustAtTheLimit_Accepted()
    {
        var ok = await _agent.Client.ScheduleRunAsync(_agent.Request("sixty-s", leadMs: 300, binWidthNs: 30_000_000, bins: 2000));
        Assert.Equal("sixty-s", ok.RunId);
    }

    [Fact]
    public async Task ScheduleRun_PinFlood_BoundedByMaxPinnedRuns_FetchingFreesASlot()
    {
        const int Cap = 100;
        for (int i = 0; i < Cap; i++)
        {
            await _agent.Client.ScheduleRunAsync(_agent.Request($"flood-{i:D3}", leadMs: 300 + (i * 50), binWidthNs: 1_000_000, bins: 1));
        }

        var e = await Assert.ThrowsAsync<RpcException>(() =>
            _agent.Client.ScheduleRunAsync(_agent.Request("flood-100", leadMs: 300 + (Cap * 50), binWidthNs: 1_000_000, bins: 1)).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        Assert.Contains("Agent:RunStore:MaxPinnedRuns = 100", e.Status.Detail, StringComparison.Ordinal);

        // Once the first run is recorded and fetched, its slot is free again.
        await _agent.AdvanceAsync(TimeSpan.FromMilliseconds(400));
        var run = await _agent.Client.GetRunAsync(new GetRunRequest { RunId = "flood-000" }, deadline: DateTime.UtcNow.AddSeconds(30));
        Assert.Equal(RunStatus.Complete, run.Status);
        var accepted = await _agent.Client.ScheduleRunAsync(_agent.Request("after-fetch", leadMs: 300 + (Cap * 50), binWidthNs: 1_000_000, bins: 1));
        Assert.Equal("after-fetch", accepted.RunId);
    }
}
