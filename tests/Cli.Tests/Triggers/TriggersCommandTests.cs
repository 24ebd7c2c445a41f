using Millisampler.Cli.Tests.Infrastructure;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;

namespace Millisampler.Cli.Tests.Triggers;

public class TriggersCommandTests
{
    private static TriggerRecord Record(string id, string host, TriggerDecision decision, string captureId, string reason)
    {
        var r = new TriggerRecord
        {
            TriggerId = id,
            ReceivedAtUnixNs = 1_763_823_000_000_000_000,
            Decision = decision,
            CaptureId = captureId,
            Reason = reason,
            DelayNs = 12_500_000,
            Origin = CaptureOrigin.Trigger,
            Report = new TriggerReport { Host = host, Rack = "r1", Rule = "incast", BinWidthNs = 1_000_000, FirstBin = 5, LastBin = 9, InstantTaiNs = 10_000_000 },
        };
        r.Report.Values["ingress_utilization"] = 0.93;
        return r;
    }

    [Fact]
    public async Task Triggers_RackSinceLimit_BecomeTheRequest_RowsPrinted()
    {
        var service = new FakeCoordinatorService();
        service.TriggerList.Triggers.Add(Record("t2", "h02", TriggerDecision.Refused, "", "cooldown: rack 'r1' fired capture c1 3s ago"));
        service.TriggerList.Triggers.Add(Record("t1", "h01", TriggerDecision.Fired, "c1", ""));
        await using FakeCoordinator fake = await FakeCoordinator.StartAsync(service);

        CliResult r = await CliRun.RunAsync("triggers", "--coordinator", fake.Address.ToString(), "--rack", "r1", "--since", "1h", "--limit", "5");

        Assert.Equal(ExitCodes.Ok, r.ExitCode);
        ListTriggersRequest sent = Assert.Single(service.TriggerRequests);
        Assert.Equal(("r1", 5u, TimeNs.FromUnix(CliRun.Now.AddHours(-1))), (sent.Rack, sent.Limit, sent.FromUnixNs));
        Assert.Matches(@"(?m)^2025-11-22 14:50:00.000\s+r1\s+h02\s+incast\s+refused\s+12.5ms\s+cooldown: rack 'r1' fired capture c1 3s ago$", r.Stdout);
        Assert.Matches(@"(?m)^2025-11-22 14:50:00.000\s+r1\s+h01\s+incast\s+fired\s+c1\s+12.5ms\s+ingress_utilization=0.93$", r.Stdout);
    }

    [Fact]
    public async Task Triggers_JsonAndCsv_CarryEveryField()
    {
        var service = new FakeCoordinatorService();
        service.TriggerList.Triggers.Add(Record("t1", "h01", TriggerDecision.Joined, "c1", "joined"));
        await using FakeCoordinator fake = await FakeCoordinator.StartAsync(service);

        CliResult json = await CliRun.RunAsync("triggers", "--coordinator", fake.Address.ToString(), "-o", "json");
        CliResult csv = await CliRun.RunAsync("triggers", "--coordinator", fake.Address.ToString(), "-o", "csv");

        Assert.Equal(ExitCodes.Ok, json.ExitCode);
        ListTriggersResponse parsed = Google.Protobuf.JsonParser.Default.Parse<ListTriggersResponse>(json.Stdout);
        Assert.Equal(service.TriggerList, parsed);
        Assert.Equal(ExitCodes.Ok, csv.ExitCode);
        string[] lines = csv.Stdout.Trim().Split('\n');
        Assert.StartsWith("trigger_id,received_utc,rack,host,origin,rule,decision,capture_id,reason", lines[0]);
        Assert.Equal("t1,2025-11-22T14:50:00.0000000Z,r1,h01,trigger,incast,joined,c1,joined,10000000,12500000,0,ingress_utilization=0.93", lines[1].TrimEnd('\r'));
    }

    [Fact]
    public async Task Triggers_LimitOutOfRange_RefusedBeforeCalling()
    {
        await using FakeCoordinator fake = await FakeCoordinator.StartAsync();

        CliResult r = await CliRun.RunAsync("triggers", "--coordinator", fake.Address.ToString(), "--limit", "5000");

        Assert.NotEqual(ExitCodes.Ok, r.ExitCode);
        Assert.Contains("--limit", r.Stderr);
        Assert.Empty(fake.Service.TriggerRequests);
    }

    [Fact]
    public async Task Policy_PrintsWindowCooldownCapAndRulesSeen()
    {
        var service = new FakeCoordinatorService
        {
            TriggerPolicy = new TriggerPolicy
            {
                Enabled = true,
                CooldownNs = 30_000_000_000,
                HourlyCapPerRack = 12,
                BeforeNs = 2_000_000_000,
                AfterNs = 1_000_000_000,
                BinWidthNs = 1_000_000,
                RulesSeen = { new TriggerRuleSeen { Rule = "incast", Rack = "r1", Host = "h01", Reports = 3, LastReportUnixNs = 1_763_823_000_000_000_000 } },
            },
        };
        await using FakeCoordinator fake = await FakeCoordinator.StartAsync(service);

        CliResult r = await CliRun.RunAsync("triggers", "policy", "--coordinator", fake.Address.ToString());

        Assert.Equal(ExitCodes.Ok, r.ExitCode);
        Assert.Contains("Triggers enabled: window 2s before to 1s after the instant at 1ms bins; cooldown 30s; at most 12 captures per rack per hour", r.Stdout);
        Assert.Matches(@"(?m)^incast\s+r1\s+h01\s+3\s+2025-11-22T14:50:00.0000000Z$", r.Stdout);
    }

    [Fact]
    public async Task Triggers_CoordinatorUnreachable_ExitsWithError()
    {
        CliResult r = await CliRun.RunAsync("triggers", "--coordinator", "http://127.0.0.1:9");
        Assert.NotEqual(ExitCodes.Ok, r.ExitCode);
        Assert.NotEmpty(r.Stderr);
    }
}
