using Grpc.Core;
using Grpc.Net.Client;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Tests.Captures;
using Millisampler.Coordinator.Tests.Infrastructure;
using Millisampler.ServiceDefaults.Security;

namespace Millisampler.Coordinator.Tests.Triggers;

/// <summary>ReportTrigger on the real coordinator with fake agents: who may report, what is checked, what it captures.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class ReportTriggerTests
{
    private const long Ms = 1_000_000;

    private static TriggerReport Report(string host, long instantTaiNs, string rack = "r1")
    {
        long lastBin = (instantTaiNs / Ms) - 1;
        var r = new TriggerReport { Host = host, Rack = rack, Rule = "incast", BinWidthNs = Ms, FirstBin = lastBin - 4, LastBin = lastBin, InstantTaiNs = (lastBin + 1) * Ms };
        r.Values["ingress_utilization"] = 0.97;
        return r;
    }

    private static MembershipService.MembershipServiceClient As(TestCoordinator c, string host, out GrpcChannel channel)
    {
        channel = c.OpenChannel(host, Roles.Agent);
        return new MembershipService.MembershipServiceClient(channel);
    }

    [Fact]
    public async Task ThreeHostsReportOneIncast_OneAroundCaptureOfOriginTrigger_OthersJoin_AllStored()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync(extraArgs: ["--Coordinator:Triggers:Before=00:00:00.500", "--Coordinator:Triggers:After=00:00:00.200"]);
        await c.AddAgentsAsync(3);
        await c.WaitForProbesAsync();

        long instant = TestCoordinator.Clock.NowNs() / Ms * Ms;
        var channels = new List<GrpcChannel>();
        try
        {
            Task<TriggerResponse>[] calls = [.. c.Agents.Select((a, i) =>
            {
                MembershipService.MembershipServiceClient client = As(c, a.Host, out GrpcChannel ch);
                channels.Add(ch);
                return client.ReportTriggerAsync(Report(a.Host, instant - (i * Ms))).ResponseAsync;
            })];
            TriggerResponse[] answers = await Task.WhenAll(calls);

            Assert.All(answers, a => Assert.True(a.Accepted));
            string captureId = answers[0].CaptureId;
            Assert.All(answers, a => Assert.Equal(captureId, a.CaptureId));
            Assert.Equal(2, answers.Count(a => a.Reason == "joined"));

            Capture done = await c.WaitForEndAsync(captureId);
            Assert.Equal(CaptureState.Analysed, done.State);
            Assert.Equal(CaptureOrigin.Trigger, done.Origin);
            Assert.Equal("incast", done.OriginName);
            Assert.Equal(CaptureWindow.Around, done.Window);
            Assert.Equal(3u, done.HostsCovered);
            Assert.Equal(700u, done.Bins);
            Assert.Contains(done.InstantTaiNs, new[] { instant, instant - Ms, instant - (2 * Ms) });
            Assert.Equal(done.InstantTaiNs - (500 * Ms), done.StartTaiNs);

            ListCapturesResponse listed = await c.Client.ListCapturesAsync(new ListCapturesRequest { Rack = "r1" });
            Assert.Equal(captureId, Assert.Single(listed.Captures).CaptureId);
            Assert.All(c.Agents, a => Assert.Empty(a.ScheduleCalls));

            // The decisions are stored and listed: gRPC (viewer) and JSON.
            using GrpcChannel viewerChannel = c.OpenChannel("vera", Roles.Viewer);
            var viewer = new CoordinatorService.CoordinatorServiceClient(viewerChannel);
            ListTriggersResponse triggers = await viewer.ListTriggersAsync(new ListTriggersRequest { Rack = "r1" });
            Assert.Equal(3, triggers.Triggers.Count);
            Assert.Equal([TriggerDecision.Fired, TriggerDecision.Joined, TriggerDecision.Joined], triggers.Triggers.Select(t => t.Decision).Order());
            Assert.All(triggers.Triggers, t => Assert.Equal((captureId, CaptureOrigin.Trigger, "incast", 0.97), (t.CaptureId, t.Origin, t.Report.Rule, t.Report.Values["ingress_utilization"])));
            Assert.Equal(c.Agents.Select(a => a.Host).Order(), triggers.Triggers.Select(t => t.RequestedBy).Order());
            ListTriggersResponse json = Google.Protobuf.JsonParser.Default.Parse<ListTriggersResponse>(await c.Http.GetStringAsync("/api/triggers?rack=r1&limit=2"));
            Assert.Equal(triggers.Triggers.Take(2), json.Triggers);
            TriggerPolicy policy = Google.Protobuf.JsonParser.Default.Parse<TriggerPolicy>(await c.Http.GetStringAsync("/api/triggers/policy"));
            Assert.Equal((500 * Ms, 200 * Ms, Ms, 3), (policy.BeforeNs, policy.AfterNs, policy.BinWidthNs, policy.RulesSeen.Count));
            Assert.Equal(policy, await viewer.GetTriggerPolicyAsync(new GetTriggerPolicyRequest()));
            HttpResponseMessage bad = await c.Http.GetAsync("/api/triggers?limit=5000");
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Contains("limit: 5000 is out of range", await bad.Content.ReadAsStringAsync());
        }
        finally
        {
            channels.ForEach(ch => ch.Dispose());
        }
    }

    [Fact]
    public async Task ReportAsAnotherHost_PermissionDenied_NothingStarted()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync();
        await c.AddAgentsAsync(2);
        MembershipService.MembershipServiceClient host2 = As(c, c.Agents[1].Host, out GrpcChannel channel);
        using (channel)
        {
            RpcException ex = await Assert.ThrowsAsync<RpcException>(() =>
                host2.ReportTriggerAsync(Report(c.Agents[0].Host, TestCoordinator.Clock.NowNs())).ResponseAsync);
            Assert.Equal(StatusCode.PermissionDenied, ex.StatusCode);
            Assert.Contains($"'{c.Agents[0].Host}'", ex.Status.Detail);
        }

        using GrpcChannel viewer = c.OpenChannel("vera", Roles.Viewer);
        RpcException notAgent = await Assert.ThrowsAsync<RpcException>(() => new MembershipService.MembershipServiceClient(viewer)
            .ReportTriggerAsync(Report("vera", TestCoordinator.Clock.NowNs())).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, notAgent.StatusCode);
        Assert.Empty((await c.Client.ListCapturesAsync(new ListCapturesRequest())).Captures);
    }

    [Theory]
    [InlineData("rule", "rule: required")]
    [InlineData("long-rule", "rule: 129 characters; at most 128")]
    [InlineData("width", "bin_width_ns: 0 is out of range")]
    [InlineData("order", "first_bin/last_bin: ")]
    [InlineData("instant", "instant_tai_ns: ")]
    [InlineData("value", "values[u]: NaN is not a finite number")]
    [InlineData("rack", "rack: host 'h01' is registered in rack 'r1', not 'r9'")]
    [InlineData("unregistered", "host: 'h77' is not registered")]
    public async Task BadReport_RejectedNamingTheField(string what, string message)
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync();
        await c.AddAgentsAsync(1);
        string host = what == "unregistered" ? "h77" : "h01";
        TriggerReport r = Report(host, TestCoordinator.Clock.NowNs());
        StatusCode expected = StatusCode.InvalidArgument;
        switch (what)
        {
            case "rule":
                r.Rule = "";
                break;
            case "long-rule":
                r.Rule = new string('x', 129);
                break;
            case "width":
                r.BinWidthNs = 0;
                break;
            case "order":
                r.FirstBin = r.LastBin + 1;
                break;
            case "instant":
                r.InstantTaiNs += 1;
                break;
            case "value":
                r.Values["u"] = double.NaN;
                break;
            case "rack":
                r.Rack = "r9";
                expected = StatusCode.FailedPrecondition;
                break;
            case "unregistered":
                expected = StatusCode.NotFound;
                break;
        }

        MembershipService.MembershipServiceClient client = As(c, host, out GrpcChannel channel);
        using (channel)
        {
            RpcException ex = await Assert.ThrowsAsync<RpcException>(() => client.ReportTriggerAsync(r).ResponseAsync);
            Assert.Equal(expected, ex.StatusCode);
            Assert.Contains(message, ex.Status.Detail);
        }
    }

    /// <summary>
    /// The trigger calls' access rules, one by one: no certificate → UNAUTHENTICATED (gRPC) or 401 (JSON); an agent may
    /// report but not list; a viewer may list but not report; and the list's bad fields are INVALID_ARGUMENT naming them.
    /// </summary>
    [Fact]
    public async Task TriggerCalls_NeedTheirRole_AndBadListFieldsAreNamed()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync();
        using GrpcChannel anonymous = c.OpenChannel(null);
        using GrpcChannel agentChannel = c.OpenChannel("h01", Roles.Agent);
        using GrpcChannel viewerChannel = c.OpenChannel("vera", Roles.Viewer);
        var anonymousReads = new CoordinatorService.CoordinatorServiceClient(anonymous);
        var agentReads = new CoordinatorService.CoordinatorServiceClient(agentChannel);
        var viewer = new CoordinatorService.CoordinatorServiceClient(viewerChannel);

        async Task<StatusCode> CodeOf(Func<Task> call) => (await Assert.ThrowsAsync<RpcException>(call)).StatusCode;

        Assert.Equal(StatusCode.Unauthenticated, await CodeOf(() => anonymousReads.ListTriggersAsync(new ListTriggersRequest()).ResponseAsync));
        Assert.Equal(StatusCode.Unauthenticated, await CodeOf(() => anonymousReads.GetTriggerPolicyAsync(new GetTriggerPolicyRequest()).ResponseAsync));
        Assert.Equal(StatusCode.Unauthenticated, await CodeOf(() =>
            new MembershipService.MembershipServiceClient(anonymous).ReportTriggerAsync(Report("h01", 1_000 * Ms)).ResponseAsync));
        Assert.Equal(StatusCode.PermissionDenied, await CodeOf(() => agentReads.ListTriggersAsync(new ListTriggersRequest()).ResponseAsync));
        Assert.Equal(StatusCode.PermissionDenied, await CodeOf(() => agentReads.GetTriggerPolicyAsync(new GetTriggerPolicyRequest()).ResponseAsync));
        Assert.Equal(StatusCode.PermissionDenied, await CodeOf(() =>
            new MembershipService.MembershipServiceClient(viewerChannel).ReportTriggerAsync(Report("vera", 1_000 * Ms)).ResponseAsync));
        using (var http = new HttpClient(TestPki.Handler(null)) { BaseAddress = new Uri(c.HttpUrl) })
        {
            Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await http.GetAsync("/api/triggers")).StatusCode);
            Assert.Equal(System.Net.HttpStatusCode.Unauthorized, (await http.GetAsync("/api/triggers/policy")).StatusCode);
        }

        foreach ((ListTriggersRequest request, string field) in new[]
        {
            (new ListTriggersRequest { FromUnixNs = -1 }, "from_unix_ns: -1"),
            (new ListTriggersRequest { Limit = 5000 }, "limit: 5000"),
            (new ListTriggersRequest { Rack = new string('r', 254) }, "rack: 254 characters"),
        })
        {
            RpcException e = await Assert.ThrowsAsync<RpcException>(() => viewer.ListTriggersAsync(request).ResponseAsync);
            Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
            Assert.StartsWith(field, e.Status.Detail);
        }

        Assert.Empty((await viewer.ListTriggersAsync(new ListTriggersRequest())).Triggers);
    }
}
