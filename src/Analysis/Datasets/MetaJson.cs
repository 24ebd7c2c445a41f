using System.Buffers;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Millisampler.Analysis.Datasets;

/// <summary>
/// The JSON codec of <see cref="MetaHostFile"/>: a forward-only Utf8JsonReader pass (no DOM, no reflection), and a
/// Utf8JsonWriter. Property names are Meta's; ours are listed in docs/dataset-format.md.
/// </summary>
internal static class MetaJson
{
    /// <summary>Version of our additions, written as "millisampler_format".</summary>
    public const int FormatVersion = 1;

    /// <summary>
    /// Parses one host file. Returns null for a well-formed object that carries no "ingressBytes" (some files of
    /// Meta's data set hold only a burst summary). Throws <see cref="DatasetFormatException"/> for anything else.
    /// </summary>
    public static MetaHostFile? Parse(ReadOnlySpan<byte> json, string path)
    {
        if (json.Trim(" \t\r\n"u8).IsEmpty)
        {
            throw new DatasetFormatException(path, "is empty.");
        }

        var reader = new Utf8JsonReader(json, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Skip });
        var f = new Fields();
        ulong[] scratch = ArrayPool<ulong>.Shared.Rent(4096);
        try
        {
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw new DatasetFormatException(path, $"must hold one JSON object; it starts with {reader.TokenType}.");
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("ingressBytes"u8))
                {
                    f.IngressBytes = ReadSeries(ref reader, path, "ingressBytes", ref scratch);
                }
                else if (reader.ValueTextEquals("egressBytes"u8))
                {
                    f.EgressBytes = ReadSeries(ref reader, path, "egressBytes", ref scratch);
                }
                else if (reader.ValueTextEquals("inRxmitBytes"u8))
                {
                    f.InRxmitBytes = ReadSeries(ref reader, path, "inRxmitBytes", ref scratch);
                }
                else if (reader.ValueTextEquals("outRxmitBytes"u8))
                {
                    f.OutRxmitBytes = ReadSeries(ref reader, path, "outRxmitBytes", ref scratch);
                }
                else if (reader.ValueTextEquals("inCongestionExperiencedBytes"u8))
                {
                    f.InCe = ReadSeries(ref reader, path, "inCongestionExperiencedBytes", ref scratch);
                }
                else if (reader.ValueTextEquals("connections"u8))
                {
                    f.Connections = ReadSeries(ref reader, path, "connections", ref scratch);
                }
                else if (reader.ValueTextEquals("server_hostname"u8))
                {
                    f.Hostname = ReadText(ref reader, path, "server_hostname");
                }
                else if (reader.ValueTextEquals("rack_id"u8))
                {
                    f.RackId = ReadText(ref reader, path, "rack_id");
                }
                else if (reader.ValueTextEquals("sampling_freq"u8))
                {
                    f.SamplingFreq = ReadSamplingFreq(ref reader, path);
                }
                else if (reader.ValueTextEquals("ingressPackets"u8))
                {
                    f.IngressPackets = ReadSeries(ref reader, path, "ingressPackets", ref scratch);
                }
                else if (reader.ValueTextEquals("egressPackets"u8))
                {
                    f.EgressPackets = ReadSeries(ref reader, path, "egressPackets", ref scratch);
                }
                else if (reader.ValueTextEquals("inConnections"u8))
                {
                    f.InConnections = ReadSeries(ref reader, path, "inConnections", ref scratch);
                }
                else if (reader.ValueTextEquals("outConnections"u8))
                {
                    f.OutConnections = ReadSeries(ref reader, path, "outConnections", ref scratch);
                }
                else if (reader.ValueTextEquals("inCrossRegionBytes"u8))
                {
                    f.InCrossRegion = ReadSeries(ref reader, path, "inCrossRegionBytes", ref scratch);
                }
                else if (reader.ValueTextEquals("outCrossRegionBytes"u8))
                {
                    f.OutCrossRegion = ReadSeries(ref reader, path, "outCrossRegionBytes", ref scratch);
                }
                else if (reader.ValueTextEquals("start_tai_ns"u8))
                {
                    f.StartTaiNs = ReadInt64(ref reader, path, "start_tai_ns");
                }
                else if (reader.ValueTextEquals("bin_width_ns"u8))
                {
                    f.BinWidthNs = ReadInt64(ref reader, path, "bin_width_ns");
                }
                else if (reader.ValueTextEquals("bins"u8))
                {
                    f.Bins = ReadCount(ref reader, path, "bins");
                }
                else if (reader.ValueTextEquals("bins_recorded"u8))
                {
                    f.BinsRecorded = ReadCount(ref reader, path, "bins_recorded");
                }
                else if (reader.ValueTextEquals("link_speed_bits_per_second"u8))
                {
                    f.LinkSpeed = ReadDouble(ref reader, path, "link_speed_bits_per_second");
                }
                else if (reader.ValueTextEquals("clock_error_ns"u8))
                {
                    f.ClockErrorNs = ReadInt64(ref reader, path, "clock_error_ns");
                }
                else if (reader.ValueTextEquals("run_id"u8))
                {
                    f.RunId = ReadText(ref reader, path, "run_id");
                }
                else
                {
                    // Unknown fields (Meta's burst_result summary, later additions) are skipped, not rejected.
                    reader.Read();
                    reader.Skip();
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject)
            {
                throw new DatasetFormatException(path, $"expected a property name or '}}', found {reader.TokenType}.");
            }

            if (reader.Read())
            {
                throw new DatasetFormatException(path, $"has content after the top-level object ({reader.TokenType}).");
            }
        }
        catch (JsonException e)
        {
            throw new DatasetFormatException(path,
                $"is not valid JSON (line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}): {e.Message}", e);
        }
        finally
        {
            ArrayPool<ulong>.Shared.Return(scratch);
        }

        if (f.IngressBytes is null)
        {
            return null;
        }

        var (hostFromName, rackFromName) = NamesFromFileName(path);
        string host = f.Hostname ?? hostFromName
            ?? throw new DatasetFormatException(path, "has no server_hostname, and the file name is not rackId_<rack>_hostId_<host>.");
        string rack = f.RackId ?? rackFromName
            ?? throw new DatasetFormatException(path, "has no rack_id, and the file name is not rackId_<rack>_hostId_<host>.");

        return new MetaHostFile(
            host, rack, f.SamplingFreq,
            f.IngressBytes,
            f.EgressBytes ?? throw Missing(path, "egressBytes"),
            f.InRxmitBytes ?? throw Missing(path, "inRxmitBytes"),
            f.OutRxmitBytes ?? throw Missing(path, "outRxmitBytes"),
            f.InCe ?? throw Missing(path, "inCongestionExperiencedBytes"),
            f.Connections ?? throw Missing(path, "connections"),
            f.IngressPackets, f.EgressPackets, f.InConnections, f.OutConnections, f.InCrossRegion, f.OutCrossRegion,
            f.StartTaiNs, f.BinWidthNs, f.Bins, f.BinsRecorded, f.LinkSpeed, f.ClockErrorNs, f.RunId);
    }

    /// <summary>Writes <paramref name="file"/> as one JSON object: Meta's fields first, then ours (absent ones omitted).</summary>
    public static void Write(Stream stream, MetaHostFile file)
    {
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { SkipValidation = true });
        w.WriteStartObject();
        w.WriteString("server_hostname"u8, file.ServerHostname);
        w.WriteString("rack_id"u8, file.RackId);
        if (file.SamplingFreq is { } freq)
        {
            w.WriteNumber("sampling_freq"u8, freq);
        }

        WriteSeries(w, "ingressBytes"u8, file.IngressBytes);
        WriteSeries(w, "egressBytes"u8, file.EgressBytes);
        WriteSeries(w, "inRxmitBytes"u8, file.InRxmitBytes);
        WriteSeries(w, "outRxmitBytes"u8, file.OutRxmitBytes);
        WriteSeries(w, "inCongestionExperiencedBytes"u8, file.InCongestionExperiencedBytes);
        WriteSeries(w, "connections"u8, file.Connections);

        w.WriteNumber("millisampler_format"u8, FormatVersion);
        WriteSeries(w, "ingressPackets"u8, file.IngressPackets);
        WriteSeries(w, "egressPackets"u8, file.EgressPackets);
        WriteSeries(w, "inConnections"u8, file.InConnections);
        WriteSeries(w, "outConnections"u8, file.OutConnections);
        WriteSeries(w, "inCrossRegionBytes"u8, file.InCrossRegionBytes);
        WriteSeries(w, "outCrossRegionBytes"u8, file.OutCrossRegionBytes);
        WriteOptional(w, "start_tai_ns"u8, file.StartTaiNs);
        WriteOptional(w, "bin_width_ns"u8, file.BinWidthNs);
        WriteOptional(w, "bins"u8, file.Bins);
        WriteOptional(w, "bins_recorded"u8, file.BinsRecorded);
        if (file.LinkSpeedBitsPerSecond is { } speed)
        {
            w.WriteNumber("link_speed_bits_per_second"u8, speed);
        }

        WriteOptional(w, "clock_error_ns"u8, file.ClockErrorNs);
        if (file.RunId is { } runId)
        {
            w.WriteString("run_id"u8, runId);
        }

        w.WriteEndObject();
        w.Flush();
    }

    /// <summary>Host and rack from Meta's file naming, rackId_&lt;rack&gt;_hostId_&lt;host&gt;.txt.gz.</summary>
    internal static (string? Host, string? Rack) NamesFromFileName(string path)
    {
        string name = Path.GetFileName(path);
        const string RackPrefix = "rackId_";
        const string HostMarker = "_hostId_";
        int host = name.IndexOf(HostMarker, StringComparison.Ordinal);
        if (!name.StartsWith(RackPrefix, StringComparison.Ordinal) || host < RackPrefix.Length)
        {
            return (null, null);
        }

        string rest = name[(host + HostMarker.Length)..];
        int dot = rest.IndexOf('.');
        return (dot < 0 ? rest : rest[..dot], name[RackPrefix.Length..host]);
    }

    private static DatasetFormatException Missing(string path, string field) =>
        new(path, $"has ingressBytes but no '{field}' series; every file of this format carries all six.");

    private static ulong[] ReadSeries(ref Utf8JsonReader reader, string path, string field, ref ulong[] scratch)
    {
        reader.Read();
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw new DatasetFormatException(path, $"'{field}' must be an array of numbers; found {reader.TokenType}.");
        }

        int n = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (n == MetaDataset.MaxSeriesLength)
            {
                throw new DatasetFormatException(path, $"'{field}' has more than {MetaDataset.MaxSeriesLength:N0} values, the most a host file may hold (an agent run has at most 1,000,000 bins).");
            }

            if (n == scratch.Length)
            {
                ulong[] bigger = ArrayPool<ulong>.Shared.Rent(scratch.Length * 2);
                scratch.AsSpan().CopyTo(bigger);
                ArrayPool<ulong>.Shared.Return(scratch);
                scratch = bigger;
            }

            scratch[n] = ReadCounter(ref reader, path, field, n);
            n++;
        }

        return scratch.AsSpan(0, n).ToArray();
    }

    private static ulong ReadCounter(ref Utf8JsonReader reader, string path, string field, int index)
    {
        if (reader.TokenType == JsonTokenType.Number)
        {
            if (reader.TryGetUInt64(out ulong v))
            {
                return v;
            }

            // Some writers (numpy through json) emit whole numbers as 1234.0; accept those, nothing fractional.
            if (reader.TryGetDouble(out double d) && d >= 0 && d < 18446744073709551616.0 && Math.Floor(d) == d)
            {
                return (ulong)d;
            }
        }

        throw new DatasetFormatException(path,
            $"'{field}'[{index}] must be a non-negative whole number; found {Describe(ref reader)}.");
    }

    private static string? ReadText(ref Utf8JsonReader reader, string path, string field)
    {
        reader.Read();
        return reader.TokenType switch
        {
            JsonTokenType.String => reader.GetString()!,
            JsonTokenType.Null => null,
            // Meta's anonymised ids may be numbers; keep their text exactly.
            JsonTokenType.Number => Encoding.UTF8.GetString(reader.ValueSpan),
            _ => throw new DatasetFormatException(path, $"'{field}' must be a string or a number; found {reader.TokenType}."),
        };
    }

    private static double? ReadSamplingFreq(ref Utf8JsonReader reader, string path)
    {
        reader.Read();
        switch (reader.TokenType)
        {
            case JsonTokenType.Number:
                return reader.GetDouble();
            case JsonTokenType.String:
                // Tolerated: a numeric string is read as the number; other text leaves the interval unknown.
                return double.TryParse(reader.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out double v)
                    ? v : null;
            case JsonTokenType.Null:
                return null;
            default:
                throw new DatasetFormatException(path, $"'sampling_freq' must be a number; found {reader.TokenType}.");
        }
    }

    private static long ReadInt64(ref Utf8JsonReader reader, string path, string field)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out long v))
        {
            return v;
        }

        throw new DatasetFormatException(path, $"'{field}' must be a whole number; found {Describe(ref reader)}.");
    }

    private static int ReadCount(ref Utf8JsonReader reader, string path, string field)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out int v) && v >= 0)
        {
            return v;
        }

        throw new DatasetFormatException(path, $"'{field}' must be a whole number from 0 to {int.MaxValue}; found {Describe(ref reader)}.");
    }

    private static double ReadDouble(ref Utf8JsonReader reader, string path, string field)
    {
        reader.Read();
        if (reader.TokenType == JsonTokenType.Number)
        {
            return reader.GetDouble();
        }

        throw new DatasetFormatException(path, $"'{field}' must be a number; found {reader.TokenType}.");
    }

    private static string Describe(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.Number or JsonTokenType.String => Encoding.UTF8.GetString(reader.ValueSpan.Length > 40 ? reader.ValueSpan[..40] : reader.ValueSpan),
        _ => reader.TokenType.ToString(),
    };

    private static void WriteSeries(Utf8JsonWriter w, ReadOnlySpan<byte> name, ulong[]? values)
    {
        if (values is null)
        {
            return;
        }

        w.WriteStartArray(name);
        foreach (ulong v in values)
        {
            w.WriteNumberValue(v);
        }

        w.WriteEndArray();
    }

    private static void WriteOptional(Utf8JsonWriter w, ReadOnlySpan<byte> name, long? value)
    {
        if (value is { } v)
        {
            w.WriteNumber(name, v);
        }
    }

    private sealed class Fields
    {
        public ulong[]? IngressBytes, EgressBytes, InRxmitBytes, OutRxmitBytes, InCe, Connections;
        public ulong[]? IngressPackets, EgressPackets, InConnections, OutConnections, InCrossRegion, OutCrossRegion;
        public string? Hostname, RackId, RunId;
        public double? SamplingFreq, LinkSpeed;
        public long? StartTaiNs, BinWidthNs, ClockErrorNs;
        public int? Bins, BinsRecorded;
    }
}
