using System.Collections.Concurrent;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Storage;
using Millisampler.Coordinator.Triggers;

namespace Millisampler.Coordinator.Tests.Triggers;

/// <summary>The trigger gate's decisions on a fake clock, with a fake capture starter and store.</summary>
public sealed class TriggerGateTests
{
    private const long Ms = 1_000_000;
    private const long Second = 1_000 * Ms;

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 3, 8, 0, 0, TimeSpan.Zero));
    private readonly FakeTriggerCaptures _captures = new();
    private readonly FakeTriggerStore _store = new();

    private TriggerGate Gate(TriggerOptions? options = null) => new(_captures, _store, _time, new TimeProviderTaiClock(_time, 37),
        Options.Create(options ?? new TriggerOptions()), NullLogger<TriggerGate>.Instance);

    private long NowTai => TimeNs.TaiFromUnix(_time.UnixNowNs(), 37);

    /// <summary>A report of <paramref name="host"/> whose last bin ended <paramref name="agoMs"/> ago.</summary>
    private TriggerSubmission Report(TriggerGate gate, string host, long agoMs = 20, string rack = "r1", string rule = "incast")
    {
        long lastBin = ((NowTai - (agoMs * Ms)) / Ms) - 1;
        var report = new TriggerReport { Host = host, Rack = rack, Rule = rule, BinWidthNs = Ms, FirstBin = lastBin - 4, LastBin = lastBin, InstantTaiNs = (lastBin + 1) * Ms };
        report.Values["ingress_utilization"] = 0.93;
        return new TriggerSubmission(CaptureOrigin.Trigger, rack, host, rule, report.InstantTaiNs, report.Values,
            gate.AroundCapture(rack, report.InstantTaiNs), host, report);
    }

    [Fact]
    public async Task ThreeHostsOneEvent_Concurrently_OneCaptureFiredTwoJoined()
    {
        TriggerGate gate = Gate();
        _captures.Hold = new TaskCompletionSource();
        var submissions = new[] { Report(gate, "h01", 20), Report(gate, "h02", 22), Report(gate, "h03", 25) };
        Task<TriggerRecord>[] decided = [.. submissions.Select(s => Task.Run(() => gate.SubmitAsync(s, default)))];

        // Hold the first capture's start until all three reports have arrived: without per-rack serialization each
        // would start its own.
        await _captures.Started.Task;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (gate.Policy().RulesSeen.Sum(r => r.Reports) < 3)
        {
            await Task.Delay(1, timeout.Token);
        }

        _captures.Hold.SetResult();
        TriggerRecord[] records = await Task.WhenAll(decided);

        Assert.Single(_captures.Calls);
        TriggerRecord fired = Assert.Single(records, r => r.Decision == TriggerDecision.Fired);
        Assert.Equal(2, records.Count(r => r.Decision == TriggerDecision.Joined));
        Assert.All(records, r => Assert.Equal(fired.CaptureId, r.CaptureId));
        Assert.Equal(3, _store.Records.Count);
        (StartCaptureRequest request, CaptureOrigin origin, string name, string by) = _captures.Calls.Single();
        Assert.Equal(CaptureOrigin.Trigger, origin);
        Assert.Equal("incast", name);
        Assert.Equal(fired.Report.Host, by);
        Assert.Equal(2 * Second, request.Around.BeforeNs);
        Assert.Equal(1 * Second, request.Around.AfterNs);
        Assert.Equal(Ms, request.BinWidthNs);
        Assert.Equal(fired.Report.InstantTaiNs, request.Around.InstantTaiNs);
        Assert.Equal(0.93, fired.Report.Values["ingress_utilization"]);
        Assert.Equal(NowTai - fired.Report.InstantTaiNs, fired.DelayNs);
    }

    [Fact]
    public async Task Cooldown_OtherEventWithinItRefused_SameEventJoins_AfterItFiresAgain()
    {
        TriggerGate gate = Gate(new TriggerOptions { Cooldown = TimeSpan.FromSeconds(30) });
        TriggerRecord first = await gate.SubmitAsync(Report(gate, "h01"), default);
        Assert.Equal(TriggerDecision.Fired, first.Decision);

        // 10 s later: a new event (its instant is outside the first window [i − 2 s, i + 1 s)).
        _time.Advance(TimeSpan.FromSeconds(10));
        TriggerRecord storm = await gate.SubmitAsync(Report(gate, "h02"), default);
        Assert.Equal(TriggerDecision.Refused, storm.Decision);
        Assert.StartsWith("cooldown", storm.Reason);
        Assert.Contains("Coordinator:Triggers:Cooldown", storm.Reason);
        Assert.Empty(storm.CaptureId);

        // A late report of the first event (instant inside its window) still joins it.
        TriggerSubmission late = Report(gate, "h03", agoMs: 10_100);
        Assert.Equal(TriggerDecision.Joined, (await gate.SubmitAsync(late, default)).Decision);

        _time.Advance(TimeSpan.FromSeconds(20));
        TriggerRecord next = await gate.SubmitAsync(Report(gate, "h02"), default);
        Assert.Equal(TriggerDecision.Fired, next.Decision);
        Assert.NotEqual(first.CaptureId, next.CaptureId);
        Assert.Equal(2, _captures.Calls.Count);
    }

    [Fact]
    public async Task Restart_CooldownAndCapReadBackFromTheStore_ExactInstantStillJoins()
    {
        var options = new TriggerOptions { Cooldown = TimeSpan.FromSeconds(30), HourlyCapPerRack = 2 };
        TriggerRecord first = await Gate(options).SubmitAsync(Report(Gate(options), "h01"), default);
        Assert.Equal(TriggerDecision.Fired, first.Decision);

        // The coordinator restarts 10 s later: a new gate over the same store.
        _time.Advance(TimeSpan.FromSeconds(10));
        TriggerGate restarted = Gate(options);
        TriggerRecord storm = await restarted.SubmitAsync(Report(restarted, "h02"), default);
        Assert.Equal(TriggerDecision.Refused, storm.Decision);
        Assert.StartsWith("cooldown", storm.Reason);
        Assert.Contains(first.CaptureId, storm.Reason);

        // The first event reported again at its instant joins the capture fired before the restart.
        TriggerSubmission again = Report(restarted, "h03", agoMs: 10_020);
        Assert.Equal(first.Report.InstantTaiNs, again.InstantTaiNs);
        TriggerRecord joined = await restarted.SubmitAsync(again, default);
        Assert.Equal((TriggerDecision.Joined, first.CaptureId), (joined.Decision, joined.CaptureId));

        // After the cooldown the second capture of the hour fires; after another restart the cap (2) still holds.
        _time.Advance(TimeSpan.FromSeconds(25));
        Assert.Equal(TriggerDecision.Fired, (await restarted.SubmitAsync(Report(restarted, "h02"), default)).Decision);
        _time.Advance(TimeSpan.FromMinutes(5));
        TriggerGate again2 = Gate(options);
        TriggerRecord capped = await again2.SubmitAsync(Report(again2, "h04"), default);
        Assert.Equal(TriggerDecision.Refused, capped.Decision);
        Assert.StartsWith("hourly cap: 2 trigger captures", capped.Reason);

        // Once the first has left the hour, the rack may fire again.
        _time.Advance(TimeSpan.FromMinutes(55));
        Assert.Equal(TriggerDecision.Fired, (await Gate(options).SubmitAsync(Report(again2, "h04"), default)).Decision);
        Assert.Equal(3, _captures.Calls.Count);
    }

    [Fact]
    public async Task Restart_StoreUnreadable_DecidesFromMemory_ReadsBackWhenItRecovers()
    {
        var options = new TriggerOptions { Cooldown = TimeSpan.FromSeconds(30) };
        TriggerRecord first = await Gate(options).SubmitAsync(Report(Gate(options), "h01"), default);
        Assert.Equal(TriggerDecision.Fired, first.Decision);

        _time.Advance(TimeSpan.FromSeconds(5));
        TriggerGate restarted = Gate(options);
        _store.ListFailure = new InvalidOperationException("database is down");
        TriggerRecord blind = await restarted.SubmitAsync(Report(restarted, "h02", rack: "r2"), default);
        Assert.Equal(TriggerDecision.Fired, blind.Decision);

        // Rack r1 is read back at its first submission once the store answers again.
        _store.ListFailure = null;
        TriggerRecord r1 = await restarted.SubmitAsync(Report(restarted, "h03"), default);
        Assert.Equal(TriggerDecision.Refused, r1.Decision);
        Assert.Contains(first.CaptureId, r1.Reason);
    }

    [Fact]
    public async Task AlertFingerprintAndLabels_StoredWithTheRecord_AbsentForAnAgentsReport()
    {
        TriggerGate gate = Gate();
        var labels = new Dictionary<string, string> { ["alertname"] = "RackCongested", ["rack"] = "r1", ["severity"] = "page" };
        TriggerSubmission alert = Report(gate, "h01") with { Origin = CaptureOrigin.Alert, Report = null, AlertFingerprint = "6a2f1c0e9b8d7a65", AlertLabels = labels };
        TriggerRecord fromAlert = await gate.SubmitAsync(alert, default);
        TriggerRecord fromAgent = await gate.SubmitAsync(Report(gate, "h02", rack: "r2"), default);

        TriggerRecord stored = Assert.Single(_store.Records, r => r.TriggerId == fromAlert.TriggerId);
        Assert.Equal("6a2f1c0e9b8d7a65", stored.AlertFingerprint);
        Assert.Equal(labels, stored.AlertLabels);
        TriggerRecord agent = Assert.Single(_store.Records, r => r.TriggerId == fromAgent.TriggerId);
        Assert.Empty(agent.AlertFingerprint);
        Assert.Empty(agent.AlertLabels);
    }

    [Fact]
    public async Task HourlyCap_IsPerRackAndSliding()
    {
        TriggerGate gate = Gate(new TriggerOptions { Cooldown = TimeSpan.FromMinutes(1), HourlyCapPerRack = 3 });
        for (int i = 0; i < 3; i++)
        {
            Assert.Equal(TriggerDecision.Fired, (await gate.SubmitAsync(Report(gate, "h01"), default)).Decision);
            _time.Advance(TimeSpan.FromMinutes(10));
        }

        // t = 30 min: three fired at 0, 10, 20 min.
        TriggerRecord capped = await gate.SubmitAsync(Report(gate, "h01"), default);
        Assert.Equal(TriggerDecision.Refused, capped.Decision);
        Assert.StartsWith("hourly cap", capped.Reason);
        Assert.Contains("in 1800s", capped.Reason); // the first leaves the hour at 60 min
        Assert.Equal(TriggerDecision.Fired, (await gate.SubmitAsync(Report(gate, "h09", rack: "r2"), default)).Decision);

        _time.Advance(TimeSpan.FromMinutes(29));
        Assert.Equal(TriggerDecision.Refused, (await gate.SubmitAsync(Report(gate, "h01"), default)).Decision);
        _time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(TriggerDecision.Fired, (await gate.SubmitAsync(Report(gate, "h01"), default)).Decision);
        Assert.Equal(5, _captures.Calls.Count);
    }

    [Fact]
    public async Task CaptureCannotStart_RefusedWithTheReason_CapAndCooldownUntouched()
    {
        TriggerGate gate = Gate(new TriggerOptions { HourlyCapPerRack = 1 });
        _captures.Failure = new RpcException(new Status(StatusCode.FailedPrecondition, "ring does not cover the window: h01: the agent's look-back recorder is off"));
        TriggerRecord refused = await gate.SubmitAsync(Report(gate, "h01"), default);
        Assert.Equal(TriggerDecision.Refused, refused.Decision);
        Assert.Equal("capture could not start (FailedPrecondition): ring does not cover the window: h01: the agent's look-back recorder is off", refused.Reason);

        _captures.Failure = null;
        Assert.Equal(TriggerDecision.Fired, (await gate.SubmitAsync(Report(gate, "h01"), default)).Decision);
        Assert.Equal([TriggerDecision.Refused, TriggerDecision.Fired], _store.Records.Select(r => r.Decision));
    }

    [Fact]
    public async Task Alert_LookbackThenForward_BothStart_ASecondAlertOfTheEventJoinsEachOfItsKind()
    {
        TriggerGate gate = Gate(new TriggerOptions { HourlyCapPerRack = 1 });
        long startsAt = NowTai - (500 * Ms);
        TriggerSubmission Alert(string name, long instant, bool forward) => new(CaptureOrigin.Alert, "r1", "", name, instant,
            new Dictionary<string, double>(), forward ? new StartCaptureRequest { Rack = "r1", BinWidthNs = Ms, Bins = 1000 } : gate.AroundCapture("r1", instant),
            "alertmanager");

        TriggerRecord around = await gate.SubmitAsync(Alert("RackDrops", startsAt, forward: false), default);
        TriggerRecord ahead = await gate.SubmitAsync(Alert("RackDrops", startsAt, forward: true), default);
        Assert.Equal((TriggerDecision.Fired, TriggerDecision.Fired), (around.Decision, ahead.Decision));
        Assert.NotEqual(around.CaptureId, ahead.CaptureId);

        TriggerRecord otherAround = await gate.SubmitAsync(Alert("RackEcn", startsAt + (100 * Ms), forward: false), default);
        TriggerRecord otherAhead = await gate.SubmitAsync(Alert("RackEcn", startsAt + (100 * Ms), forward: true), default);
        Assert.Equal((TriggerDecision.Joined, around.CaptureId), (otherAround.Decision, otherAround.CaptureId));
        Assert.Equal((TriggerDecision.Joined, ahead.CaptureId), (otherAhead.Decision, otherAhead.CaptureId));
        Assert.Equal(2, _captures.Calls.Count);
        Assert.All(_captures.Calls, c => Assert.Equal(CaptureOrigin.Alert, c.Origin));
        Assert.Equal(CaptureOrigin.Alert, around.Origin);
        Assert.Equal("RackDrops", around.Report.Rule);
    }

    [Fact]
    public async Task Disabled_RefusesAndStores_StartsNothing()
    {
        TriggerGate gate = Gate(new TriggerOptions { Enabled = false });
        TriggerRecord r = await gate.SubmitAsync(Report(gate, "h01"), default);
        Assert.Equal(TriggerDecision.Refused, r.Decision);
        Assert.Equal("triggers are disabled (Coordinator:Triggers:Enabled)", r.Reason);
        Assert.Empty(_captures.Calls);
        Assert.Single(_store.Records);
        Assert.False(gate.Policy().Enabled);
    }

    [Fact]
    public async Task StoreFails_DecisionStandsAndIsReturned()
    {
        TriggerGate gate = Gate();
        _store.Failure = new InvalidOperationException("disk full");
        TriggerRecord r = await gate.SubmitAsync(Report(gate, "h01"), default);
        Assert.Equal(TriggerDecision.Fired, r.Decision);
        Assert.Single(_captures.Calls);
    }

    [Fact]
    public async Task Policy_ListsOptionsAndRulesSeen()
    {
        TriggerGate gate = Gate(new TriggerOptions { Cooldown = TimeSpan.FromSeconds(5), HourlyCapPerRack = 7 });
        await gate.SubmitAsync(Report(gate, "h01", rule: "stall"), default);
        _time.Advance(TimeSpan.FromSeconds(1));
        await gate.SubmitAsync(Report(gate, "h01", rule: "stall"), default);
        TriggerPolicy p = gate.Policy();
        Assert.Equal(5 * Second, p.CooldownNs);
        Assert.Equal(7u, p.HourlyCapPerRack);
        TriggerRuleSeen seen = Assert.Single(p.RulesSeen);
        Assert.Equal(("stall", "r1", "h01", 2u, _time.UnixNowNs()), (seen.Rule, seen.Rack, seen.Host, seen.Reports, seen.LastReportUnixNs));
    }

    [Theory]
    [InlineData("00:00:00.001", "00:00:00", "00:00:00.001", true)]
    [InlineData("00:00:00", "00:00:00", "00:00:00.001", false)]
    [InlineData("00:00:02", "00:00:01", "00:00:00.003", false)]
    public void Options_WindowAndWidth_Validated(string before, string after, string width, bool valid)
    {
        var o = new TriggerOptions { Before = TimeSpan.Parse(before, System.Globalization.CultureInfo.InvariantCulture), After = TimeSpan.Parse(after, System.Globalization.CultureInfo.InvariantCulture), BinWidth = TimeSpan.Parse(width, System.Globalization.CultureInfo.InvariantCulture) };
        Assert.Equal(valid, new TriggerOptionsValidator().Validate(null, o).Succeeded);
    }

    private sealed class FakeTriggerCaptures : ITriggerCaptures
    {
        public ConcurrentQueue<(StartCaptureRequest Request, CaptureOrigin Origin, string Name, string By)> Calls { get; } = new();

        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource? Hold { get; set; }

        public RpcException? Failure { get; set; }

        public async Task<Capture> StartAsync(StartCaptureRequest request, string requestedBy, CaptureOrigin origin, string name,
            CancellationToken cancellationToken)
        {
            Started.TrySetResult();
            if (Failure is not null)
            {
                throw Failure;
            }

            Calls.Enqueue((request, origin, name, requestedBy));
            if (Hold is not null)
            {
                await Hold.Task;
            }

            long w = request.BinWidthNs;
            if (request.WindowCase == StartCaptureRequest.WindowOneofCase.None)
            {
                return new Capture { CaptureId = $"c{Calls.Count}", Rack = request.Rack, BinWidthNs = w, Bins = request.Bins, Origin = origin, OriginName = name };
            }

            long first = (request.Around.InstantTaiNs - request.Around.BeforeNs) / w;
            long end = (request.Around.InstantTaiNs + request.Around.AfterNs + w - 1) / w;
            return new Capture
            {
                CaptureId = $"c{Calls.Count}",
                Rack = request.Rack,
                StartTaiNs = first * w,
                BinWidthNs = w,
                Bins = (uint)(end - first),
                Origin = origin,
                OriginName = name,
            };
        }
    }

    private sealed class FakeTriggerStore : ITriggerStore
    {
        public List<TriggerRecord> Records { get; } = [];

        public Exception? Failure { get; set; }

        public Exception? ListFailure { get; set; }

        public Task InsertTriggerAsync(TriggerRecord record, CancellationToken cancellationToken)
        {
            if (Failure is not null)
            {
                throw Failure;
            }

            lock (Records)
            {
                Records.Add(record.Clone());
            }

            return Task.CompletedTask;
        }

        public Task<IReadOnlyList<TriggerRecord>> ListTriggersAsync(string rack, long fromUnixNs, int limit, CancellationToken cancellationToken) =>
            ListFailure is not null
                ? Task.FromException<IReadOnlyList<TriggerRecord>>(ListFailure)
                : Task.FromResult<IReadOnlyList<TriggerRecord>>([.. Records.Where(r => (rack.Length == 0 || r.Report.Rack == rack) && r.ReceivedAtUnixNs >= fromUnixNs).Reverse().Take(limit)]);
    }
}
