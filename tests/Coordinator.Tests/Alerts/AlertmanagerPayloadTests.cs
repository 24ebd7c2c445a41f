using System.Text;
using Millisampler.Common.Time;
using Millisampler.Coordinator.Alerts;

namespace Millisampler.Coordinator.Tests.Alerts;

/// <summary>Alertmanager's webhook payload (version 4) as documented, and every way a delivery can be wrong.</summary>
public sealed class AlertmanagerPayloadTests
{
    /// <summary>A delivery as Alertmanager 0.25 sends it: every documented field, one firing and one resolved alert.</summary>
    internal const string Documented = """
        {
          "receiver": "millisampler",
          "status": "firing",
          "alerts": [
            {
              "status": "firing",
              "labels": {"alertname": "RackRetransmits", "rack": "r1", "severity": "page"},
              "annotations": {"summary": "retransmits high", "retransmit_ratio": "0.031"},
              "startsAt": "2026-12-03T08:00:00.123456789Z",
              "endsAt": "0001-01-01T00:00:00Z",
              "generatorURL": "http://prometheus:9090/graph?g0.expr=x",
              "fingerprint": "a1b2c3d4e5f60718"
            },
            {
              "status": "resolved",
              "labels": {"alertname": "RackRetransmits", "rack": "r2"},
              "annotations": {},
              "startsAt": "2026-12-03T07:50:00Z",
              "endsAt": "2026-12-03T07:55:00Z",
              "generatorURL": "",
              "fingerprint": "0f0e0d0c0b0a0908"
            }
          ],
          "groupLabels": {"alertname": "RackRetransmits"},
          "commonLabels": {"alertname": "RackRetransmits"},
          "commonAnnotations": {},
          "externalURL": "http://alertmanager:9093",
          "version": "4",
          "groupKey": "{}:{alertname=\"RackRetransmits\"}",
          "truncatedAlerts": 0
        }
        """;

    private static AlertmanagerPayload Parse(string json, int maxAlerts = 100) => AlertmanagerPayload.Parse(Encoding.UTF8.GetBytes(json), maxAlerts);

    private static string Error(string json, int maxAlerts = 100) =>
        Assert.Throws<AlertPayloadException>(() => Parse(json, maxAlerts)).Message;

    [Fact]
    public void Documented_EveryFieldRead()
    {
        AlertmanagerPayload p = Parse(Documented);

        Assert.Equal("millisampler", p.Receiver);
        Assert.Equal("firing", p.Status);
        Assert.Equal("http://alertmanager:9093", p.ExternalUrl);
        Assert.Equal("{}:{alertname=\"RackRetransmits\"}", p.GroupKey);
        Assert.Equal("RackRetransmits", p.GroupLabels["alertname"]);
        Assert.Equal(0, p.TruncatedAlerts);
        Assert.Equal(2, p.Alerts.Count);
        AlertmanagerAlert a = p.Alerts[0];
        Assert.True(a.IsFiring);
        Assert.Equal("RackRetransmits", a.Name);
        Assert.Equal("r1", a.Labels["rack"]);
        Assert.Equal("0.031", a.Annotations["retransmit_ratio"]);
        Assert.Equal("a1b2c3d4e5f60718", a.Fingerprint);
        // 100 ns resolution (DateTimeOffset); the digits below it are dropped.
        Assert.Equal(TimeNs.FromUnix(new DateTimeOffset(2026, 12, 3, 8, 0, 0, TimeSpan.Zero)) + 123_456_700, a.StartsAtUnixNs);
        Assert.Equal(0, a.EndsAtUnixNs);
        Assert.False(p.Alerts[1].IsFiring);
        Assert.Equal(TimeNs.FromUnix(new DateTimeOffset(2026, 12, 3, 7, 55, 0, TimeSpan.Zero)), p.Alerts[1].EndsAtUnixNs);
    }

    [Fact]
    public void UnknownFields_Ignored()
    {
        Assert.Single(Parse("""{"version":"4","alerts":[{"status":"firing","labels":{"alertname":"A"},"startsAt":"2026-01-01T00:00:00Z","future":1}],"newField":{}}""").Alerts);
    }

    [Theory]
    [InlineData("{", "body: not valid JSON")]
    [InlineData("[]", "body: a JSON object is required, not an array")]
    [InlineData("""{"alerts":[]}""", "version: required")]
    [InlineData("""{"version":4,"alerts":[]}""", "version: a string is required, not the number 4")]
    [InlineData("""{"version":"3","alerts":[]}""", "version: '3' is not supported")]
    [InlineData("""{"version":"4"}""", "alerts: required")]
    [InlineData("""{"version":"4","alerts":{}}""", "alerts: an array is required, not an object")]
    [InlineData("""{"version":"4","status":"burning","alerts":[]}""", "status: 'burning' is neither")]
    [InlineData("""{"version":"4","alerts":[1]}""", "alerts[0]: an alert object is required, not the number 1")]
    [InlineData("""{"version":"4","alerts":[{"labels":{},"startsAt":"2026-01-01T00:00:00Z"}]}""", "alerts[0].status: required")]
    [InlineData("""{"version":"4","alerts":[{"status":"pending","labels":{},"startsAt":"2026-01-01T00:00:00Z"}]}""", "alerts[0].status: 'pending' is neither")]
    [InlineData("""{"version":"4","alerts":[{"status":"firing","startsAt":"2026-01-01T00:00:00Z"}]}""", "alerts[0].labels: required")]
    [InlineData("""{"version":"4","alerts":[{"status":"firing","labels":{"rack":1},"startsAt":"2026-01-01T00:00:00Z"}]}""", "alerts[0].labels.rack: a string is required, not the number 1")]
    [InlineData("""{"version":"4","alerts":[{"status":"firing","labels":{}}]}""", "alerts[0].startsAt: required")]
    [InlineData("""{"version":"4","alerts":[{"status":"firing","labels":{},"startsAt":"yesterday"}]}""", "alerts[0].startsAt: 'yesterday' is not an RFC 3339 time")]
    [InlineData("""{"version":"4","alerts":[{"status":"firing","labels":{},"startsAt":"0001-01-01T00:00:00Z"}]}""", "alerts[0].startsAt: '0001-01-01T00:00:00Z' is Go's zero time")]
    [InlineData("""{"version":"4","alerts":[{"status":"firing","labels":{},"startsAt":"2026-01-01T00:00:00Z","annotations":[]}]}""", "alerts[0].annotations: an object of strings is required")]
    [InlineData("""{"version":"4","alerts":[],"truncatedAlerts":-1}""", "truncatedAlerts: a non-negative integer is required")]
    [InlineData("""{"version":"4","alerts":[],"groupLabels":"x"}""", "groupLabels: an object of strings is required, not a string")]
    public void Malformed_ErrorNamesTheField(string json, string expectedStart)
    {
        Assert.StartsWith(expectedStart, Error(json), StringComparison.Ordinal);
    }

    [Fact]
    public void InvalidUtf8InAString_BodyError()
    {
        byte[] json = Encoding.UTF8.GetBytes("""{"version":"4","receiver":"xx","alerts":[]}""");
        json[Array.IndexOf(json, (byte)'x')] = 0xB5;

        var ex = Assert.Throws<AlertPayloadException>(() => AlertmanagerPayload.Parse(json, 100));

        Assert.Equal("body: not valid UTF-8 (Alertmanager sends UTF-8 JSON)", ex.Message);
    }

    [Fact]
    public void TooManyAlerts_NamesTheLimit()
    {
        string alert = """{"status":"firing","labels":{"alertname":"A"},"startsAt":"2026-01-01T00:00:00Z"}""";
        string json = $$"""{"version":"4","alerts":[{{string.Join(",", Enumerable.Repeat(alert, 3))}}]}""";

        Assert.Equal(3, Parse(json, maxAlerts: 3).Alerts.Count);
        Assert.Equal("alerts: 3 alerts; at most 2 per delivery (Coordinator:Alerts:MaxAlerts; set max_alerts in the webhook_config)", Error(json, maxAlerts: 2));
    }

    [Fact]
    public void DeepNesting_RefusedAsJson()
    {
        string json = """{"version":"4","alerts":[],"x":""" + new string('[', 100) + new string(']', 100) + "}";
        Assert.StartsWith("body: not valid JSON", Error(json), StringComparison.Ordinal);
    }
}
