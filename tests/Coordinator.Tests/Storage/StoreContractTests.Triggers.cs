using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Storage;

namespace Millisampler.Coordinator.Tests.Storage;

public abstract partial class StoreContractTests
{
    private static TriggerRecord Trigger(string id, string rack, string host, long receivedUnixNs, TriggerDecision decision, string captureId = "")
    {
        var record = new TriggerRecord
        {
            TriggerId = id,
            ReceivedAtUnixNs = receivedUnixNs,
            Decision = decision,
            Reason = decision == TriggerDecision.Refused ? "cooldown: rack busy" : "",
            CaptureId = captureId,
            DelayNs = 12_000_000,
            Origin = CaptureOrigin.Trigger,
            RequestedBy = host,
            Report = new TriggerReport { Host = host, Rack = rack, Rule = "incast", BinWidthNs = 1_000_000, FirstBin = 10, LastBin = 14, InstantTaiNs = 15_000_000 },
        };
        record.Report.Values["ingress_utilization"] = 0.93;
        return record;
    }

    [Fact]
    public async Task Triggers_InsertThenList_NewestFirstByRackAndTime_RoundTrip()
    {
        SqlStore store = Open();
        TriggerRecord fired = Trigger("t1", "r1", "h01", 100, TriggerDecision.Fired, "c1");
        await store.InsertTriggerAsync(fired, default);
        await store.InsertTriggerAsync(Trigger("t2", "r1", "h02", 200, TriggerDecision.Joined, "c1"), default);
        await store.InsertTriggerAsync(Trigger("t3", "r2", "h09", 300, TriggerDecision.Refused), default);
        await store.InsertTriggerAsync(fired, default); // idempotent

        Assert.Equal(["t3", "t2", "t1"], (await store.ListTriggersAsync("", 0, 10, default)).Select(t => t.TriggerId));
        Assert.Equal(["t2", "t1"], (await store.ListTriggersAsync("r1", 0, 10, default)).Select(t => t.TriggerId));
        Assert.Equal(["t2"], (await store.ListTriggersAsync("r1", 150, 10, default)).Select(t => t.TriggerId));
        Assert.Equal(["t3"], (await store.ListTriggersAsync("", 0, 1, default)).Select(t => t.TriggerId));
        Assert.Equal(fired, (await store.ListTriggersAsync("r1", 0, 10, default))[^1]);
    }
}
