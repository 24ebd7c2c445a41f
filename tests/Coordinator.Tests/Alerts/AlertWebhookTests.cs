using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Api;
using Millisampler.Coordinator.Tests.Captures;
using Millisampler.Coordinator.Tests.Infrastructure;
using Millisampler.Coordinator.Triggers;
using Millisampler.ServiceDefaults.Security;

namespace Millisampler.Coordinator.Tests.Alerts;

/// <summary>
/// <c>POST /api/alerts/alertmanager</c> on the real coordinator with a <see cref="FakeTriggerGate"/>: what it submits
/// for firing and resolved alerts, and every delivery it refuses (status, error naming the field, nothing submitted).
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class AlertWebhookTests
{
    private static string Delivery(string labels, string status = "firing", string annotations = "{}", string? startsAt = null) => $$"""
        {"version":"4","receiver":"millisampler","status":"{{status}}","groupKey":"{}:{}","truncatedAlerts":0,
         "alerts":[{"status":"{{status}}","labels":{{labels}},"annotations":{{annotations}},
                    "startsAt":"{{startsAt ?? DateTimeOffset.UtcNow.ToString("O")}}","endsAt":"0001-01-01T00:00:00Z",
                    "generatorURL":"","fingerprint":"f00d"}]}
        """;

    private static async Task<(TestCoordinator C, FakeTriggerGate Gate)> StartAsync(params string[] args)
    {
        var gate = new FakeTriggerGate();
        TestCoordinator c = await TestCoordinator.StartAsync(secure: true, databasePath: null, s => s.AddSingleton<ITriggerGate>(gate), args);
        await c.AddAgentsAsync(2);
        await c.WaitForProbesAsync();
        return (c, gate);
    }

    private static Task<HttpResponseMessage> PostAsync(HttpClient http, string body, string mediaType = "application/json") =>
        http.PostAsync(JsonApi.AlertmanagerPath, new StringContent(body, Encoding.UTF8, mediaType));

    [Fact]
    public async Task FiringAlert_LookbackAndForwardSubmitted_OriginAlert_NameAndCaller()
    {
        (TestCoordinator c, FakeTriggerGate gate) = await StartAsync();
        await using TestCoordinator _ = c;

        using HttpResponseMessage answer = await PostAsync(c.Http,
            Delivery("""{"alertname":"RackRetransmits","rack":"r1"}""", annotations: """{"value":"0.5","summary":"high"}"""));

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        TriggerSubmission[] subs = [.. gate.Submissions];
        Assert.Equal(2, subs.Length);
        Assert.All(subs, s =>
        {
            Assert.Equal(CaptureOrigin.Alert, s.Origin);
            Assert.Equal("r1", s.Rack);
            Assert.Equal("RackRetransmits", s.Name);
            Assert.Equal("test-admin", s.RequestedBy);
            Assert.Equal(new Dictionary<string, double> { ["value"] = 0.5 }, s.Values);
            Assert.Equal("f00d", s.AlertFingerprint);
            Assert.Equal(new Dictionary<string, string> { ["alertname"] = "RackRetransmits", ["rack"] = "r1" }, s.AlertLabels);
        });
        Assert.Equal(StartCaptureRequest.WindowOneofCase.Around, subs[0].Capture.WindowCase);
        Assert.Equal(subs[0].InstantTaiNs, subs[0].Capture.Around.InstantTaiNs);
        Assert.Equal(StartCaptureRequest.WindowOneofCase.None, subs[1].Capture.WindowCase);
        Assert.Equal(2000u, subs[1].Capture.Bins);

        using JsonDocument body = JsonDocument.Parse(await answer.Content.ReadAsStringAsync());
        JsonElement alert = Assert.Single(body.RootElement.GetProperty("alerts").EnumerateArray());
        Assert.Equal("r1", alert.GetProperty("rack").GetString());
        JsonElement[] captures = [.. alert.GetProperty("captures").EnumerateArray()];
        Assert.Equal(["CAPTURE_WINDOW_AROUND", "CAPTURE_WINDOW_FORWARD"], captures.Select(x => x.GetProperty("window").GetString()));
        Assert.Equal(["TRIGGER_DECISION_FIRED", "TRIGGER_DECISION_FIRED"], captures.Select(x => x.GetProperty("decision").GetString()));
        Assert.Equal(["fake-1", "fake-2"], captures.Select(x => x.GetProperty("captureId").GetString()));
    }

    [Fact]
    public async Task HostLabel_RackOfTheHost_StartLongGone_OnlyForward()
    {
        (TestCoordinator c, FakeTriggerGate gate) = await StartAsync();
        await using TestCoordinator _ = c;

        using HttpResponseMessage answer = await PostAsync(c.Http,
            Delivery("""{"alertname":"NodeDown","host":"h02"}""", startsAt: DateTimeOffset.UtcNow.AddMinutes(-5).ToString("O")));

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        TriggerSubmission sub = Assert.Single(gate.Submissions);
        Assert.Equal(("r1", "h02"), (sub.Rack, sub.Host));
        Assert.Equal(StartCaptureRequest.WindowOneofCase.None, sub.Capture.WindowCase);
        using JsonDocument body = JsonDocument.Parse(await answer.Content.ReadAsStringAsync());
        JsonElement around = body.RootElement.GetProperty("alerts")[0].GetProperty("captures")[0];
        Assert.Equal("CAPTURE_WINDOW_AROUND", around.GetProperty("window").GetString());
        Assert.False(around.GetProperty("submitted").GetBoolean());
        Assert.StartsWith("the rings no longer hold the alert's start", around.GetProperty("reason").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ResolvedAlert_NotCaptured_SaysSo()
    {
        (TestCoordinator c, FakeTriggerGate gate) = await StartAsync();
        await using TestCoordinator _ = c;

        using HttpResponseMessage answer = await PostAsync(c.Http, Delivery("""{"alertname":"A","rack":"nowhere"}""", status: "resolved"));

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Empty(gate.Submissions);
        Assert.Contains("resolved alerts are not captured", await answer.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GateRefuses_ReasonInTheAnswer()
    {
        (TestCoordinator c, FakeTriggerGate gate) = await StartAsync();
        await using TestCoordinator _ = c;
        gate.Throw = new RpcException(new Status(StatusCode.ResourceExhausted, "rack r1 is busy"));

        using HttpResponseMessage answer = await PostAsync(c.Http, Delivery("""{"alertname":"A","rack":"r1"}"""));

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        string text = await answer.Content.ReadAsStringAsync();
        Assert.Contains("TRIGGER_DECISION_REFUSED", text, StringComparison.Ordinal);
        Assert.Contains("RESOURCE_EXHAUSTED: rack r1 is busy", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{\"version\":\"4\",", "body: not valid JSON")]
    [InlineData("{\"version\":\"4\"}", "alerts: required")]
    [InlineData("{\"version\":\"3\",\"alerts\":[]}", "version: '3' is not supported")]
    [InlineData("""{"version":"4","alerts":[{"status":"firing","labels":{"alertname":"A","rack":"r9"},"startsAt":"2026-01-01T00:00:00Z"}]}""",
        "alerts[0].labels.rack: rack 'r9' has no registered hosts (known racks: r1)")]
    [InlineData("""{"version":"4","alerts":[{"status":"firing","labels":{"alertname":"A","host":"h99"},"startsAt":"2026-01-01T00:00:00Z"}]}""",
        "alerts[0].labels.host: host 'h99' is not registered")]
    [InlineData("""{"version":"4","alerts":[{"status":"firing","labels":{"alertname":"A"},"startsAt":"2026-01-01T00:00:00Z"}]}""",
        "alerts[0].labels: the alert has no 'rack' or 'host' label")]
    [InlineData("""{"version":"4","alerts":[{"status":"firing","labels":{"rack":"r1"},"startsAt":"2026-01-01T00:00:00Z"}]}""",
        "alerts[0].labels.alertname: required")]
    [InlineData("", "body: required")]
    public async Task BadDelivery_400NamingTheField_NothingSubmitted(string body, string expectedStart)
    {
        (TestCoordinator c, FakeTriggerGate gate) = await StartAsync();
        await using TestCoordinator _ = c;

        using HttpResponseMessage answer = await PostAsync(c.Http, body);

        Assert.Equal(HttpStatusCode.BadRequest, answer.StatusCode);
        ApiErrorBody error = (await answer.Content.ReadFromJsonAsync<ApiErrorBody>())!;
        Assert.Equal("INVALID_ARGUMENT", error.Code);
        Assert.StartsWith(expectedStart, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(" at Millisampler", error.Message, StringComparison.Ordinal);
        Assert.Empty(gate.Submissions);
    }

    [Fact]
    public async Task OneBadAlertOfMany_WholeDeliveryRefused()
    {
        (TestCoordinator c, FakeTriggerGate gate) = await StartAsync();
        await using TestCoordinator _ = c;
        string good = """{"status":"firing","labels":{"alertname":"A","rack":"r1"},"startsAt":"2026-01-01T00:00:00Z"}""";
        string bad = """{"status":"firing","labels":{"alertname":"A","rack":"r7"},"startsAt":"2026-01-01T00:00:00Z"}""";

        using HttpResponseMessage answer = await PostAsync(c.Http, $$"""{"version":"4","alerts":[{{good}},{{bad}}]}""");

        Assert.Equal(HttpStatusCode.BadRequest, answer.StatusCode);
        Assert.StartsWith("alerts[1].labels.rack:", (await answer.Content.ReadFromJsonAsync<ApiErrorBody>())!.Message, StringComparison.Ordinal);
        Assert.Empty(gate.Submissions);
    }

    [Fact]
    public async Task TextPlain_415()
    {
        (TestCoordinator c, FakeTriggerGate gate) = await StartAsync();
        await using TestCoordinator _ = c;

        using HttpResponseMessage answer = await PostAsync(c.Http, Delivery("""{"alertname":"A","rack":"r1"}"""), "text/plain");

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, answer.StatusCode);
        Assert.StartsWith("content-type: 'text/plain; charset=utf-8' is not accepted", (await answer.Content.ReadFromJsonAsync<ApiErrorBody>())!.Message, StringComparison.Ordinal);
        Assert.Empty(gate.Submissions);
    }

    [Fact]
    public async Task OversizedBody_413_TooManyAlerts_400()
    {
        (TestCoordinator c, FakeTriggerGate gate) = await StartAsync("--Coordinator:Alerts:MaxBodyBytes=2048", "--Coordinator:Alerts:MaxAlerts=2");
        await using TestCoordinator _ = c;

        using HttpResponseMessage large = await PostAsync(c.Http, Delivery("""{"alertname":"A","rack":"r1"}""", annotations: $$"""{"x":"{{new string('x', 4096)}}"}"""));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, large.StatusCode);
        Assert.StartsWith("body: ", (await large.Content.ReadFromJsonAsync<ApiErrorBody>())!.Message, StringComparison.Ordinal);

        string alert = """{"status":"firing","labels":{"alertname":"A","rack":"r1"},"startsAt":"2026-01-01T00:00:00Z"}""";
        using HttpResponseMessage many = await PostAsync(c.Http, $$"""{"version":"4","alerts":[{{alert}},{{alert}},{{alert}}]}""");
        Assert.Equal(HttpStatusCode.BadRequest, many.StatusCode);
        Assert.StartsWith("alerts: 3 alerts; at most 2", (await many.Content.ReadFromJsonAsync<ApiErrorBody>())!.Message, StringComparison.Ordinal);
        Assert.Empty(gate.Submissions);
    }

    [Fact]
    public async Task NoCredentials_401_Viewer_403_Operator_200()
    {
        (TestCoordinator c, FakeTriggerGate gate) = await StartAsync();
        await using TestCoordinator _ = c;
        string body = Delivery("""{"alertname":"A","rack":"r1"}""");

        using var anonymous = new HttpClient(TestPki.Handler(null)) { BaseAddress = new Uri(c.HttpUrl) };
        using var viewer = new HttpClient(TestPki.Handler("vic", Roles.Viewer)) { BaseAddress = new Uri(c.HttpUrl) };
        using var alertmanager = new HttpClient(TestPki.Handler("alertmanager", Roles.Operator)) { BaseAddress = new Uri(c.HttpUrl) };

        using HttpResponseMessage none = await PostAsync(anonymous, body);
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        using HttpResponseMessage denied = await PostAsync(viewer, body);
        Assert.Equal(HttpStatusCode.Forbidden, denied.StatusCode);
        Assert.Empty(gate.Submissions);

        using HttpResponseMessage ok = await PostAsync(alertmanager, body);
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        Assert.All(gate.Submissions, s => Assert.Equal("alertmanager", s.RequestedBy));
    }

    private sealed record ApiErrorBody(string Code, string Message);
}
