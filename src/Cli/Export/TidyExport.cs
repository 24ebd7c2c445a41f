using System.Globalization;
using System.Text;
using Millisampler.Analysis;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;
using Parquet;
using Parquet.Schema;

namespace Millisampler.Cli.Export;

/// <summary>
/// A capture as tidy (long) data: one row per host × recorded bin, with the bin's start as TAI ns and as a UTC
/// timestamp, every series, and the host's metadata; as Parquet (one row group per host) or CSV. docs/cli.md lists
/// the columns. Bins a host did not record have no row; a series a host's agent does not measure is null (empty in CSV).
/// </summary>
internal static class TidyExport
{
    /// <summary>TAI − UTC since 2017-01-01, s: used when a run does not state the offset its clock had (0 = not set).</summary>
    public const int DefaultTaiOffsetSeconds = 37;

    private static readonly (string Name, Func<RunSeries, IReadOnlyList<ulong>> Values)[] Series =
    [
        ("ingress_bytes", s => s.IngressBytes),
        ("egress_bytes", s => s.EgressBytes),
        ("ingress_packets", s => s.IngressPackets),
        ("egress_packets", s => s.EgressPackets),
        ("ingress_ce_bytes", s => s.IngressCeBytes),
        ("ingress_retransmit_bytes", s => s.IngressRetransmitBytes),
        ("egress_retransmit_bytes", s => s.EgressRetransmitBytes),
        ("ingress_cross_region_bytes", s => s.IngressCrossRegionBytes),
        ("egress_cross_region_bytes", s => s.EgressCrossRegionBytes),
        ("connections", s => Widen(s.Connections)),
        ("ingress_connections", s => Widen(s.IngressConnections)),
        ("egress_connections", s => Widen(s.EgressConnections)),
    ];

    private static readonly DataField<string> CaptureIdField = new("capture_id");
    private static readonly DataField<string> RackField = new("rack");
    private static readonly DataField<string> HostField = new("host");
    private static readonly DataField<string> RunIdField = new("run_id");
    private static readonly DataField<int> BinField = new("bin");
    private static readonly DataField<long> TimeTaiField = new("time_tai_ns");
    private static readonly DateTimeDataField TimeUtcField = new("time_utc", DateTimeFormat.Timestamp, isAdjustedToUTC: true, unit: DateTimeTimeUnit.Micros);
    private static readonly DataField<long> BinWidthField = new("bin_width_ns");
    private static readonly DataField<long?> LinkSpeedField = new("link_speed_bits_per_second");
    private static readonly DataField<long?> ClockErrorField = new("clock_error_ns");
    private static readonly DataField<int> TaiOffsetField = new("tai_offset_seconds");
    private static readonly DataField<long?>[] SeriesFields = [.. Series.Select(s => new DataField<long?>(s.Name))];

    /// <summary>The schema every Parquet export has, in column order.</summary>
    public static ParquetSchema Schema { get; } = new(
    [
        CaptureIdField, RackField, HostField, RunIdField, BinField, TimeTaiField, TimeUtcField, BinWidthField, LinkSpeedField,
        ClockErrorField, TaiOffsetField, .. SeriesFields,
    ]);

    /// <summary>Column names, in order (the CSV header).</summary>
    public static IReadOnlyList<string> Columns { get; } = [.. Schema.DataFields.Select(f => f.Name)];

    /// <summary>
    /// Writes the runs as Parquet: one row group per run, Snappy (Parquet.Net's zstd took ~20× longer for ~40% less; see
    /// docs/benchmarks.md); returns the number of rows.
    /// </summary>
    public static async Task<long> WriteParquetAsync(Stream output, string captureId, IReadOnlyList<Run> runs, CancellationToken cancellationToken)
    {
        long rows = 0;
        await using ParquetWriter writer = await ParquetWriter.CreateAsync(Schema, output, new ParquetOptions { CompressionMethod = CompressionMethod.Snappy },
            cancellationToken: cancellationToken).ConfigureAwait(false);
        writer.CustomMetadata = new Dictionary<string, string>
        {
            ["millisampler.capture_id"] = captureId,
            ["millisampler.format"] = "long: one row per host x recorded bin (docs/cli.md, export)",
        };
        foreach (Run run in runs)
        {
            cancellationToken.ThrowIfCancellationRequested();
            HostRows h = HostRows.Of(run);
            using ParquetRowGroupWriter group = writer.CreateRowGroup();
            await group.WriteAsync(CaptureIdField, Repeat(captureId, h.Count)).ConfigureAwait(false);
            await group.WriteAsync(RackField, Repeat(run.Rack, h.Count)).ConfigureAwait(false);
            await group.WriteAsync(HostField, Repeat(run.Host, h.Count)).ConfigureAwait(false);
            await group.WriteAsync(RunIdField, Repeat(run.RunId, h.Count)).ConfigureAwait(false);
            await group.WriteAsync<int>(BinField, Enumerable.Range(0, h.Count).ToArray(), cancellationToken: cancellationToken).ConfigureAwait(false);
            long[] tai = new long[h.Count];
            var utc = new DateTime[h.Count];
            for (int i = 0; i < h.Count; i++)
            {
                tai[i] = h.TimeTaiNs(i);
                utc[i] = h.TimeUtc(i);
            }

            await group.WriteAsync<long>(TimeTaiField, tai, cancellationToken: cancellationToken).ConfigureAwait(false);
            await group.WriteAsync<DateTime>(TimeUtcField, utc, cancellationToken: cancellationToken).ConfigureAwait(false);
            await group.WriteAsync<long>(BinWidthField, Enumerable.Repeat(run.BinWidthNs, h.Count).ToArray(), cancellationToken: cancellationToken).ConfigureAwait(false);
            await group.WriteAsync<long>(LinkSpeedField, Enumerable.Repeat(h.LinkSpeed, h.Count).ToArray(), cancellationToken: cancellationToken).ConfigureAwait(false);
            await group.WriteAsync<long>(ClockErrorField, Enumerable.Repeat(h.ClockErrorNs, h.Count).ToArray(), cancellationToken: cancellationToken).ConfigureAwait(false);
            await group.WriteAsync<int>(TaiOffsetField, Enumerable.Repeat(h.TaiOffsetSeconds, h.Count).ToArray(), cancellationToken: cancellationToken).ConfigureAwait(false);
            for (int c = 0; c < Series.Length; c++)
            {
                IReadOnlyList<ulong> values = Series[c].Values(run.Series ?? new RunSeries());
                var column = new long?[h.Count];
                if (values.Count > 0)
                {
                    for (int i = 0; i < h.Count; i++)
                    {
                        column[i] = i < values.Count ? checked((long)values[i]) : 0;
                    }
                }

                await group.WriteAsync<long>(SeriesFields[c], column, cancellationToken: cancellationToken).ConfigureAwait(false);
            }

            rows += h.Count;
        }

        return rows;
    }

    /// <summary>Writes the runs as CSV (RFC 4180, header first, UTC as ISO 8601 with µs and Z); returns the number of rows.</summary>
    public static long WriteCsv(TextWriter output, string captureId, IReadOnlyList<Run> runs, CancellationToken cancellationToken)
    {
        output.NewLine = "\n";
        output.WriteLine(string.Join(',', Columns));
        long rows = 0;
        var line = new StringBuilder(256);
        foreach (Run run in runs)
        {
            HostRows h = HostRows.Of(run);
            IReadOnlyList<ulong>[] series = [.. Series.Select(s => s.Values(run.Series ?? new RunSeries()))];
            string prefix = $"{Quote(captureId)},{Quote(run.Rack)},{Quote(run.Host)},{Quote(run.RunId)},";
            for (int i = 0; i < h.Count; i++)
            {
                if ((i & 0xFFF) == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }

                line.Clear();
                line.Append(prefix).Append(i).Append(',')
                    .Append(h.TimeTaiNs(i)).Append(',')
                    .Append(h.TimeUtc(i).ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture)).Append(',')
                    .Append(run.BinWidthNs).Append(',')
                    .Append(h.LinkSpeed?.ToString(CultureInfo.InvariantCulture)).Append(',')
                    .Append(h.ClockErrorNs?.ToString(CultureInfo.InvariantCulture)).Append(',')
                    .Append(h.TaiOffsetSeconds);
                foreach (IReadOnlyList<ulong> values in series)
                {
                    line.Append(',');
                    if (values.Count > 0)
                    {
                        line.Append(i < values.Count ? values[i] : 0UL);
                    }
                }

                output.WriteLine(line);
            }

            rows += h.Count;
        }

        return rows;
    }

    private static string Quote(string s) =>
        s.AsSpan().IndexOfAny(",\"\r\n") >= 0 ? "\"" + s.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : s;

    private static string[] Repeat(string value, int count) => Enumerable.Repeat(value, count).ToArray();

    private static ulong[] Widen(IReadOnlyList<uint> values)
    {
        var wide = new ulong[values.Count];
        for (int i = 0; i < wide.Length; i++)
        {
            wide[i] = values[i];
        }

        return wide;
    }

    /// <summary>What every row of one run shares, and its bins' instants.</summary>
    private sealed record HostRows(Run Run, int Count, long? LinkSpeed, long? ClockErrorNs, int TaiOffsetSeconds)
    {
        public static HostRows Of(Run run)
        {
            int recorded = (int)Math.Min(run.BinsRecorded, (uint)(run.Series?.IngressBytes.Count ?? 0));
            ulong speed = HostAdmission.LinkSpeedBitsPerSecond(run.Interfaces);
            long? clockError = run.ClockAtArm is { Synchronized: true } c ? c.MaxErrorNs : null;
            int offset = run.ClockAtArm is { TaiOffsetSeconds: > 0 } o ? o.TaiOffsetSeconds : DefaultTaiOffsetSeconds;
            return new HostRows(run, recorded, speed > 0 ? checked((long)speed) : null, clockError, offset);
        }

        public long TimeTaiNs(int bin) => Run.StartTaiNs + (bin * Run.BinWidthNs);

        public DateTime TimeUtc(int bin) => TimeNs.ToUnix(TimeNs.UnixFromTai(TimeTaiNs(bin), TaiOffsetSeconds)).UtcDateTime;
    }
}
