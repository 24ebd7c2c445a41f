using System.Text.Json;
using System.Text.RegularExpressions;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace Millisampler.Coordinator.Api;

/// <summary>
/// Error messages name fields as the .proto does (<c>bin_width_ns</c>); a JSON client wrote <c>binWidthNs</c>
/// (or the proto name, which the JSON mapping also accepts). This renames each field in a message to the
/// spelling the client used, the lowerCamelCase JSON name when the body did not mention it.
/// </summary>
internal sealed partial class JsonFieldNames
{
    private readonly Dictionary<string, string> _byProtoName;

    private JsonFieldNames(Dictionary<string, string> byProtoName) => _byProtoName = byProtoName;

    /// <summary>The spellings for <paramref name="descriptor"/>'s top-level fields as <paramref name="body"/> wrote them.</summary>
    public static JsonFieldNames FromBody(string body, MessageDescriptor descriptor)
    {
        var written = TopLevelNames(body);
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (FieldDescriptor field in descriptor.Fields.InDeclarationOrder())
        {
            map[field.Name] = written.Contains(field.Name) ? field.Name : field.JsonName;
        }

        return new JsonFieldNames(map);
    }

    /// <summary><paramref name="message"/> with every proto field name replaced by the client's spelling.</summary>
    public string Rename(string message) => ProtoName().Replace(message, m =>
        _byProtoName.TryGetValue(m.Value, out string? json) ? json : m.Value);

    /// <summary>
    /// The first top-level field of <paramref name="body"/> the JSON mapping cannot parse on its own, as the client
    /// wrote it; null when the body is not an object or no single field is to blame.
    /// </summary>
    public static string? FirstBadField<T>(string body, JsonParser parser) where T : IMessage, new()
    {
        try
        {
            using JsonDocument doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            foreach (JsonProperty p in doc.RootElement.EnumerateObject())
            {
                string single = $"{{{JsonSerializer.Serialize(p.Name)}:{p.Value.GetRawText()}}}";
                try
                {
                    parser.Parse<T>(single);
                }
                catch (Exception ex) when (ex is InvalidProtocolBufferException or InvalidJsonException or FormatException)
                {
                    return p.Name;
                }
            }
        }
        catch (JsonException)
        {
        }

        return null;
    }

    private static HashSet<string> TopLevelNames(string body)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            using JsonDocument doc = JsonDocument.Parse(body);
            if (doc.RootElement.ValueKind == JsonValueKind.Object)
            {
                foreach (JsonProperty p in doc.RootElement.EnumerateObject())
                {
                    names.Add(p.Name);
                }
            }
        }
        catch (JsonException)
        {
        }

        return names;
    }

    [GeneratedRegex(@"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")]
    private static partial Regex ProtoName();
}
