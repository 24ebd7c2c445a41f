using System.Text.Json;
using Google.Protobuf;
using Millisampler.Analysis.Datasets;
using Millisampler.Contracts.V1;

namespace Millisampler.Web.Views;

/// <summary>
/// The JSON every capture view reads (src/Web/src/model.ts, <c>CaptureView</c>): the capture in the protobuf JSON
/// mapping and each host's series placed on the capture's bins. The coordinator's <c>/api/captures/{id}/view</c> and
/// <c>millisampler report</c> both write it from the same inputs: a capture and its hosts' files.
/// </summary>
public static class CaptureViewJson
{
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

    /// <summary>Writes the view of <paramref name="capture"/> with the series of <paramref name="files"/>.</summary>
    /// <param name="stream">Where to write UTF-8 JSON.</param>
    /// <param name="capture">The capture with its analysis (outcomes, link speeds, bins).</param>
    /// <param name="files">One file per host with data (from <see cref="MetaDataset.FromRun"/> or a data-set directory).
    /// A file's bins are placed by its start instant relative to the capture's; a file without one starts at bin 0.</param>
    /// <param name="source">Where the data came from, shown on the page; null = nothing.</param>
    public static void Write(Stream stream, Capture capture, IReadOnlyList<MetaHostFile> files, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(capture);
        ArgumentNullException.ThrowIfNull(files);
        var outcomes = capture.Hosts.ToDictionary(h => h.Host, StringComparer.Ordinal);
        int bins = (int)capture.Bins;
        long w = capture.BinWidthNs;

        using var json = new Utf8JsonWriter(stream);
        json.WriteStartObject();
        json.WritePropertyName("capture");
        json.WriteRawValue(Formatter.Format(capture), skipInputValidation: true);
        if (source is not null)
        {
            json.WriteString("source", source);
        }

        json.WriteStartArray("hosts");
        foreach (MetaHostFile f in files.OrderBy(f => f.ServerHostname, StringComparer.Ordinal))
        {
            outcomes.TryGetValue(f.ServerHostname, out HostOutcome? outcome);
            long offset = 0;
            if (w > 0 && f.StartTaiNs is { } start && capture.StartTaiNs != 0)
            {
                offset = (start - capture.StartTaiNs) / w;
            }

            int recorded = Math.Min(f.BinsRecorded ?? f.IngressBytes.Length, f.IngressBytes.Length);
            int covered = (int)Math.Clamp(offset + recorded, 0, bins);
            double speed = outcome?.LinkSpeedBitsPerSecond > 0 ? outcome.LinkSpeedBitsPerSecond : f.LinkSpeedBitsPerSecond ?? 0;

            json.WriteStartObject();
            json.WriteString("host", f.ServerHostname);
            json.WriteNumber("linkSpeed", speed);
            json.WriteNumber("binsCovered", covered);
            Series(json, "ingress", f.IngressBytes, offset, bins, recorded);
            Series(json, "egress", f.EgressBytes, offset, bins, recorded);
            Series(json, "ce", f.InCongestionExperiencedBytes, offset, bins, recorded);
            Series(json, "retx", f.InRxmitBytes, offset, bins, recorded);
            Series(json, "conn", f.InConnections ?? f.Connections, offset, bins, recorded);
            Series(json, "crossRegion", f.InCrossRegionBytes, offset, bins, recorded);
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    /// <summary>The runs with data as host files; runs without data stay out (the capture's host outcomes say why).</summary>
    public static IReadOnlyList<MetaHostFile> FilesOf(IEnumerable<Run> runs)
    {
        ArgumentNullException.ThrowIfNull(runs);
        var files = new List<MetaHostFile>();
        foreach (Run run in runs)
        {
            if (run.Status == RunStatus.Failed || run.BinsRecorded == 0)
            {
                continue;
            }

            try
            {
                files.Add(MetaDataset.FromRun(run));
            }
            catch (ArgumentException)
            {
                // A run the data-set shape cannot hold; its host outcome still tells the reader it is missing.
            }
        }

        return files;
    }

    private static void Series(Utf8JsonWriter json, string name, ulong[]? values, long offset, int bins, int recorded)
    {
        if (values is null)
        {
            return;
        }

        json.WriteStartArray(name);
        for (long j = 0; j < bins; j++)
        {
            long i = j - offset;
            json.WriteNumberValue(i >= 0 && i < recorded && i < values.Length ? values[i] : 0UL);
        }

        json.WriteEndArray();
    }
}
