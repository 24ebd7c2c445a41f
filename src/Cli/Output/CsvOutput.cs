using System.Globalization;
using Millisampler.Common.Time;

namespace Millisampler.Cli.Output;

/// <summary>
/// <c>--output csv</c>: RFC 4180 rows (comma-separated, a field quoted when it holds a comma, a quote or a line break,
/// CRLF line ends), a header row of snake_case names, values as machines read them: whole numbers in their unit
/// (ns, bits/s), times as ISO 8601 UTC, booleans as true/false, empty for none.
/// </summary>
internal static class CsvOutput
{
    /// <summary>Writes the header and one line per row, then flushes.</summary>
    public static void Write(TextWriter writer, IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows)
    {
        ArgumentNullException.ThrowIfNull(writer);
        WriteRow(writer, header);
        foreach (IReadOnlyList<string> row in rows)
        {
            if (row.Count != header.Count)
            {
                throw new ArgumentException($"a CSV row has {row.Count} fields for {header.Count} columns", nameof(rows));
            }

            WriteRow(writer, row);
        }

        writer.Flush();
    }

    /// <summary>A field, quoted when it must be.</summary>
    public static string Field(string value) =>
        value.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;

    /// <summary>An integer in invariant culture.</summary>
    public static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>An unsigned integer in invariant culture.</summary>
    public static string Number(ulong value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>A real number in invariant culture, round-trippable.</summary>
    public static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>Unix ns as ISO 8601 UTC with nanoseconds kept to 7 digits ("2025-11-22T15:08:01.5000000Z"); empty for 0.</summary>
    public static string Utc(long unixNs) =>
        unixNs == 0 ? "" : TimeNs.ToUnix(unixNs).ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    /// <summary>"true" or "false".</summary>
    public static string Bool(bool value) => value ? "true" : "false";

    private static void WriteRow(TextWriter writer, IReadOnlyList<string> fields)
    {
        for (int i = 0; i < fields.Count; i++)
        {
            if (i > 0)
            {
                writer.Write(',');
            }

            writer.Write(Field(fields[i]));
        }

        writer.Write("\r\n");
    }
}
