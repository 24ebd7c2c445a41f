using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Millisampler.Common.Time;

namespace Millisampler.Coordinator.Alerts;

/// <summary>One alert of an Alertmanager webhook delivery, as Alertmanager documents it (webhook payload version 4).</summary>
/// <param name="Index">Position in the delivery's <c>alerts</c> array, for error messages and the response.</param>
/// <param name="Status"><c>firing</c> or <c>resolved</c>.</param>
/// <param name="Labels">The alert's labels (<c>alertname</c> among them).</param>
/// <param name="Annotations">The alert's annotations.</param>
/// <param name="StartsAtUnixNs">When the alert started firing, unix ns.</param>
/// <param name="EndsAtUnixNs">When it ended (resolved) or will be considered ended, unix ns; 0 when Alertmanager sent Go's zero time.</param>
/// <param name="GeneratorUrl">Link to the rule that fired it.</param>
/// <param name="Fingerprint">Alertmanager's fingerprint of the label set.</param>
internal sealed record AlertmanagerAlert(
    int Index,
    string Status,
    IReadOnlyDictionary<string, string> Labels,
    IReadOnlyDictionary<string, string> Annotations,
    long StartsAtUnixNs,
    long EndsAtUnixNs,
    string GeneratorUrl,
    string Fingerprint)
{
    public bool IsFiring => Status == AlertmanagerPayload.Firing;

    /// <summary>The <c>alertname</c> label; empty when absent.</summary>
    public string Name => Labels.TryGetValue("alertname", out string? n) ? n : "";
}

/// <summary>
/// An Alertmanager webhook delivery (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config):
/// <c>version</c> "4", <c>receiver</c>, <c>status</c>, <c>alerts</c>, <c>groupLabels</c>, <c>commonLabels</c>,
/// <c>commonAnnotations</c>, <c>externalURL</c>, <c>groupKey</c>, <c>truncatedAlerts</c>. Parsed strictly where a
/// field's type is documented; fields Alertmanager may add later are ignored.
/// </summary>
internal sealed partial record AlertmanagerPayload(
    string Receiver,
    string Status,
    IReadOnlyList<AlertmanagerAlert> Alerts,
    IReadOnlyDictionary<string, string> GroupLabels,
    IReadOnlyDictionary<string, string> CommonLabels,
    IReadOnlyDictionary<string, string> CommonAnnotations,
    string ExternalUrl,
    string GroupKey,
    long TruncatedAlerts)
{
    public const string SupportedVersion = "4";
    public const string Firing = "firing";
    public const string Resolved = "resolved";

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 16 };

    /// <summary>
    /// Parses <paramref name="json"/>; throws <see cref="AlertPayloadException"/> naming the first bad field
    /// (<c>alerts[2].startsAt: ...</c>). More than <paramref name="maxAlerts"/> alerts is an error too.
    /// </summary>
    public static AlertmanagerPayload Parse(ReadOnlyMemory<byte> json, int maxAlerts)
    {
        // JsonDocument checks UTF-8 only when a string is read (an InvalidOperationException then): check it here.
        if (!System.Text.Unicode.Utf8.IsValid(json.Span))
        {
            throw new AlertPayloadException("body", "not valid UTF-8 (Alertmanager sends UTF-8 JSON)");
        }

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, DocumentOptions);
        }
        catch (JsonException ex)
        {
            throw new AlertPayloadException("body", $"not valid JSON: {ex.Message}");
        }

        using (doc)
        {
            JsonElement root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new AlertPayloadException("body", $"a JSON object is required, not {Kind(root)}");
            }

            string version = RequiredString(root, "version", "version");
            if (version != SupportedVersion)
            {
                throw new AlertPayloadException("version", $"'{version}' is not supported; this webhook takes Alertmanager's webhook payload version \"{SupportedVersion}\"");
            }

            string status = OptionalString(root, "status", "status");
            if (status is not ("" or Firing or Resolved))
            {
                throw new AlertPayloadException("status", $"'{status}' is neither '{Firing}' nor '{Resolved}'");
            }

            if (!root.TryGetProperty("alerts", out JsonElement alertsElement) || alertsElement.ValueKind == JsonValueKind.Null)
            {
                throw new AlertPayloadException("alerts", "required (an array of alerts)");
            }

            if (alertsElement.ValueKind != JsonValueKind.Array)
            {
                throw new AlertPayloadException("alerts", $"an array is required, not {Kind(alertsElement)}");
            }

            int count = alertsElement.GetArrayLength();
            if (count > maxAlerts)
            {
                throw new AlertPayloadException("alerts", $"{count} alerts; at most {maxAlerts} per delivery (Coordinator:Alerts:MaxAlerts; set max_alerts in the webhook_config)");
            }

            var alerts = new List<AlertmanagerAlert>(count);
            int index = 0;
            foreach (JsonElement a in alertsElement.EnumerateArray())
            {
                alerts.Add(ParseAlert(a, index++));
            }

            long truncated = 0;
            if (root.TryGetProperty("truncatedAlerts", out JsonElement t) && t.ValueKind != JsonValueKind.Null
                && (t.ValueKind != JsonValueKind.Number || !t.TryGetInt64(out truncated) || truncated < 0))
            {
                throw new AlertPayloadException("truncatedAlerts", $"a non-negative integer is required, not {t.GetRawText()}");
            }

            return new AlertmanagerPayload(
                OptionalString(root, "receiver", "receiver"),
                status,
                alerts,
                StringMap(root, "groupLabels", "groupLabels"),
                StringMap(root, "commonLabels", "commonLabels"),
                StringMap(root, "commonAnnotations", "commonAnnotations"),
                OptionalString(root, "externalURL", "externalURL"),
                OptionalString(root, "groupKey", "groupKey"),
                truncated);
        }
    }

    private static AlertmanagerAlert ParseAlert(JsonElement a, int index)
    {
        string at = $"alerts[{index}]";
        if (a.ValueKind != JsonValueKind.Object)
        {
            throw new AlertPayloadException(at, $"an alert object is required, not {Kind(a)}");
        }

        string status = RequiredString(a, "status", $"{at}.status");
        if (status is not (Firing or Resolved))
        {
            throw new AlertPayloadException($"{at}.status", $"'{status}' is neither '{Firing}' nor '{Resolved}'");
        }

        if (!a.TryGetProperty("labels", out JsonElement labels) || labels.ValueKind == JsonValueKind.Null)
        {
            throw new AlertPayloadException($"{at}.labels", "required (an object of label names to values)");
        }

        return new AlertmanagerAlert(
            index,
            status,
            StringMap(a, "labels", $"{at}.labels"),
            StringMap(a, "annotations", $"{at}.annotations"),
            Time(a, "startsAt", $"{at}.startsAt", required: true),
            Time(a, "endsAt", $"{at}.endsAt", required: false),
            OptionalString(a, "generatorURL", $"{at}.generatorURL"),
            OptionalString(a, "fingerprint", $"{at}.fingerprint"));
    }

    /// <summary>An RFC 3339 time as unix ns; 0 for Go's zero time (0001-01-01T00:00:00Z), which Alertmanager sends for "not set".</summary>
    private static long Time(JsonElement parent, string name, string path, bool required)
    {
        string text = required ? RequiredString(parent, name, path) : OptionalString(parent, name, path);
        if (text.Length == 0)
        {
            return 0;
        }

        // Go writes up to 9 fractional digits (RFC3339Nano); DateTimeOffset holds 7.
        string trimmed = Nanos().Replace(text, "$1");
        if (!DateTimeOffset.TryParse(trimmed, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out DateTimeOffset t)
            || !text.Contains('T', StringComparison.Ordinal))
        {
            throw new AlertPayloadException(path, $"'{text}' is not an RFC 3339 time like 2025-01-31T12:00:00.000Z");
        }

        if (t.Year <= 1)
        {
            if (required)
            {
                throw new AlertPayloadException(path, $"'{text}' is Go's zero time; a firing alert has a start");
            }

            return 0;
        }

        if (t < DateTimeOffset.UnixEpoch)
        {
            throw new AlertPayloadException(path, $"'{text}' is before 1970");
        }

        return TimeNs.FromUnix(t);
    }

    private static string RequiredString(JsonElement parent, string name, string path)
    {
        if (!parent.TryGetProperty(name, out JsonElement e) || e.ValueKind == JsonValueKind.Null)
        {
            throw new AlertPayloadException(path, "required");
        }

        return e.ValueKind == JsonValueKind.String
            ? e.GetString()!
            : throw new AlertPayloadException(path, $"a string is required, not {Kind(e)}");
    }

    private static string OptionalString(JsonElement parent, string name, string path)
    {
        if (!parent.TryGetProperty(name, out JsonElement e) || e.ValueKind == JsonValueKind.Null)
        {
            return "";
        }

        return e.ValueKind == JsonValueKind.String
            ? e.GetString()!
            : throw new AlertPayloadException(path, $"a string is required, not {Kind(e)}");
    }

    private static Dictionary<string, string> StringMap(JsonElement parent, string name, string path)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!parent.TryGetProperty(name, out JsonElement e) || e.ValueKind == JsonValueKind.Null)
        {
            return map;
        }

        if (e.ValueKind != JsonValueKind.Object)
        {
            throw new AlertPayloadException(path, $"an object of strings is required, not {Kind(e)}");
        }

        foreach (JsonProperty p in e.EnumerateObject())
        {
            if (p.Value.ValueKind != JsonValueKind.String)
            {
                throw new AlertPayloadException($"{path}.{p.Name}", $"a string is required, not {Kind(p.Value)}");
            }

            map[p.Name] = p.Value.GetString()!;
        }

        return map;
    }

    [GeneratedRegex(@"(\.\d{7})\d+")]
    private static partial Regex Nanos();

    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => $"the number {e.GetRawText()}",
        JsonValueKind.True or JsonValueKind.False => $"{e.GetRawText()}",
        _ => "null",
    };
}

/// <summary>A delivery the webhook cannot take: <paramref name="field"/> names the JSON field as Alertmanager wrote it.</summary>
internal sealed class AlertPayloadException(string field, string problem) : Exception($"{field}: {problem}")
{
    public string Field { get; } = field;
}
