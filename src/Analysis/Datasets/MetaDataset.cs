using System.IO.Compression;
using System.Runtime.ExceptionServices;
using Millisampler.Contracts.V1;

namespace Millisampler.Analysis.Datasets;

/// <summary>A rack read from a data set: every host's series padded to the same bins, and the bin width.</summary>
/// <param name="Hosts">One series per host, ready for <see cref="RackAnalyzer.Analyze"/>.</param>
/// <param name="BinWidthNs">The bin width every host agrees on, ns.</param>
public sealed record MetaRack(IReadOnlyList<HostSeries> Hosts, long BinWidthNs);

/// <summary>
/// Reads and writes host files in the shape of Meta's SyncMillisampler data set (facebookresearch/Millisampler-data):
/// one JSON object per host, gzip-compressed, named rackId_&lt;rack&gt;_hostId_&lt;host&gt;.txt.gz, every rack of a
/// collection hour in one folder. Format: docs/dataset-format.md.
/// </summary>
public static class MetaDataset
{
    /// <summary>File name endings taken as host files by <see cref="ReadDirectory(string)"/>.</summary>
    public static IReadOnlyList<string> HostFileSuffixes { get; } = [".json", ".json.gz", ".txt", ".txt.gz"];

    /// <summary>
    /// Most bytes a host file may hold, plain or once inflated: 128 MiB. A real one (2,000 bins) is well under 1 MiB,
    /// so a larger file is refused before it is read whole, and a gzip bomb stops inflating at this point.
    /// </summary>
    public const long MaxHostFileBytes = 128L << 20;

    /// <summary>Most values one series of a host file may hold: 1,000,000, the agent's largest run.</summary>
    public const int MaxSeriesLength = 1_000_000;

    // Millisampler runs at 100 µs, 1 ms and 10 ms; anything past 100 ms is not an interval in ms (a Hz value?).
    private const double MaxSamplingIntervalMs = 100;

    /// <summary>
    /// Reads one host file, plain or gzip (told apart by content, not by name).
    /// </summary>
    /// <exception cref="DatasetFormatException">The file is not a host file: names the file and what is wrong.</exception>
    public static MetaHostFile Read(string path) =>
        TryRead(path) ?? throw new DatasetFormatException(path,
            "has no 'ingressBytes' series (files of Meta's data set that hold only a burst summary look like this).");

    /// <summary>Every host file of <paramref name="dir"/> (every rack in it), in ordinal order of file name.</summary>
    /// <remarks>Files without series (Meta's summary-only files) are skipped; any other bad file throws.</remarks>
    /// <exception cref="DatasetFormatException">A file is malformed, or the directory holds no host file.</exception>
    public static IReadOnlyList<MetaHostFile> ReadDirectory(string dir) => ReadDirectory(dir, rackId: null);

    /// <summary>The host files of one rack in <paramref name="dir"/> (Meta's folders hold many racks); null = every rack.</summary>
    /// <exception cref="DatasetFormatException">A file is malformed, or no host file of that rack is there.</exception>
    public static IReadOnlyList<MetaHostFile> ReadDirectory(string dir, string? rackId)
    {
        ArgumentException.ThrowIfNullOrEmpty(dir);
        var paths = new List<string>();
        foreach (string path in Directory.EnumerateFiles(dir))
        {
            string name = Path.GetFileName(path);
            if (name.StartsWith('.') || !IsHostFileName(name))
            {
                continue;
            }

            // Meta's names carry the rack, so other racks' files need not be opened at all.
            if (rackId is not null && MetaJson.NamesFromFileName(name).Rack is { } rack && rack != Safe(rackId))
            {
                continue;
            }

            paths.Add(path);
        }

        paths.Sort(StringComparer.Ordinal);
        var read = new MetaHostFile?[paths.Count];
        try
        {
            // Decompression and parsing are CPU-bound and independent per file.
            Parallel.For(0, paths.Count, i => read[i] = TryRead(paths[i]));
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }

        var files = new List<MetaHostFile>(read.Length);
        foreach (MetaHostFile? f in read)
        {
            if (f is not null && (rackId is null || f.RackId == rackId))
            {
                files.Add(f);
            }
        }

        if (files.Count == 0)
        {
            throw new DatasetFormatException(dir, rackId is null
                ? $"holds no host file with series (names ending {string.Join(", ", HostFileSuffixes)})."
                : $"holds no host file with series of rack '{rackId}'.");
        }

        return files;
    }

    /// <summary>Writes <paramref name="file"/> as plain (not gzipped) JSON to <paramref name="stream"/>, e.g. standard output.</summary>
    public static void WriteJson(Stream stream, MetaHostFile file)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(file);
        MetaJson.Write(stream, file);
    }

    /// <summary>
    /// Writes <paramref name="file"/> atomically: to a temporary file in the same directory, flushed to disk, then
    /// renamed over <paramref name="path"/>; a reader never sees a half-written file. Gzip-compressed unless the name
    /// ends in .json or .txt (then plain JSON, so the content matches the name).
    /// </summary>
    public static void Write(string path, MetaHostFile file)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(file);
        CheckWritable(file);
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full) ?? throw new ArgumentException($"'{path}' has no directory.", nameof(path));
        Directory.CreateDirectory(dir);
        bool plain = full.EndsWith(".json", StringComparison.OrdinalIgnoreCase)
            || full.EndsWith(".txt", StringComparison.OrdinalIgnoreCase);

        // Leading dot and .tmp ending: ReadDirectory never takes it for a host file.
        string temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var fs = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                if (plain)
                {
                    MetaJson.Write(fs, file);
                }
                else
                {
                    using var gz = new GZipStream(fs, CompressionLevel.Fastest, leaveOpen: true);
                    MetaJson.Write(gz, file);
                }

                fs.Flush(flushToDisk: true);
            }

            File.Move(temp, full, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>Meta's naming, rackId_&lt;rack&gt;_hostId_&lt;host&gt;.txt.gz, with characters unsafe in a file name replaced by '_'.</summary>
    public static string DefaultFileName(MetaHostFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        return $"rackId_{Safe(file.RackId)}_hostId_{Safe(file.ServerHostname)}.txt.gz";
    }

    /// <summary>
    /// One of our runs in Meta's shape, plus our fields. sampling_freq is the bin width in ms; the link speed is
    /// the sum of the watched interfaces' known speeds; the clock error is the arm-time maxerror, -1 when unsynchronized.
    /// </summary>
    public static MetaHostFile FromRun(Run run)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (run.BinWidthNs <= 0)
        {
            throw new ArgumentException($"Run '{run.RunId}' of host '{run.Host}' has bin_width_ns {run.BinWidthNs}; it must be positive.", nameof(run));
        }

        RunSeries s = run.Series ?? new RunSeries();
        double linkSpeed = 0;
        foreach (InterfaceInfo i in run.Interfaces)
        {
            linkSpeed += i.LinkSpeedBitsPerSecond;
        }

        long? clockError = run.ClockAtArm is null ? null : run.ClockAtArm.Synchronized ? run.ClockAtArm.MaxErrorNs : -1;
        return new MetaHostFile(
            run.Host,
            run.Rack,
            run.BinWidthNs / 1e6,
            [.. s.IngressBytes],
            [.. s.EgressBytes],
            [.. s.IngressRetransmitBytes],
            [.. s.EgressRetransmitBytes],
            [.. s.IngressCeBytes],
            Widen(s.Connections),
            IngressPackets: OrNull(s.IngressPackets),
            EgressPackets: OrNull(s.EgressPackets),
            InConnections: s.IngressConnections.Count == 0 ? null : Widen(s.IngressConnections),
            OutConnections: s.EgressConnections.Count == 0 ? null : Widen(s.EgressConnections),
            InCrossRegionBytes: OrNull(s.IngressCrossRegionBytes),
            OutCrossRegionBytes: OrNull(s.EgressCrossRegionBytes),
            StartTaiNs: run.StartTaiNs,
            BinWidthNs: run.BinWidthNs,
            Bins: checked((int)run.Bins),
            BinsRecorded: checked((int)run.BinsRecorded),
            LinkSpeedBitsPerSecond: linkSpeed > 0 ? linkSpeed : null,
            ClockErrorNs: clockError,
            RunId: string.IsNullOrEmpty(run.RunId) ? null : run.RunId);
    }

    /// <summary>
    /// The host's series for <see cref="RackAnalyzer.Analyze"/>. Series are zero-padded to the longer of "bins" and
    /// ingressBytes; bins past "bins_recorded" (or past ingressBytes) are missing. The incast degree is our
    /// inConnections when present, else Meta's connections (both directions). A file without clock_error_ns gets -1
    /// (unknown), so the analysis lists it as untrusted alignment.
    /// </summary>
    /// <param name="f">The host file.</param>
    /// <param name="linkSpeedBitsPerSecond">C_h, bits/s; 0 = the speed the file states.</param>
    /// <param name="binWidthNsOverride">Bin width, ns, replacing what the file states. The series carries no width;
    /// this only checks one is known (so a CLI fails early); use <see cref="ResolveBinWidthNs"/> or <see cref="ToRack"/> for the value.</param>
    /// <exception cref="ArgumentException">No link speed given and the file states none.</exception>
    /// <exception cref="DatasetFormatException">No bin width given and the file states no usable one.</exception>
    public static HostSeries ToHostSeries(MetaHostFile f, double linkSpeedBitsPerSecond, long? binWidthNsOverride)
    {
        ArgumentNullException.ThrowIfNull(f);
        _ = ResolveBinWidthNs(f, binWidthNsOverride);
        return ToSeries(f, ResolveSpeed(f, linkSpeedBitsPerSecond), Math.Max(f.Bins ?? 0, f.IngressBytes.Length));
    }

    /// <summary>
    /// The bin width of <paramref name="f"/>, ns: the override when given, else bin_width_ns, else sampling_freq read
    /// as milliseconds per sample (only 0 &lt; x ≤ 100 is taken as such).
    /// </summary>
    /// <exception cref="DatasetFormatException">No override and the file states no usable width.</exception>
    public static long ResolveBinWidthNs(MetaHostFile f, long? binWidthNsOverride)
    {
        ArgumentNullException.ThrowIfNull(f);
        if (binWidthNsOverride is { } given)
        {
            ArgumentOutOfRangeException.ThrowIfNegativeOrZero(given, nameof(binWidthNsOverride));
            return given;
        }

        if (f.BinWidthNs is > 0 and var stated)
        {
            return stated;
        }

        if (f.SamplingFreq is > 0 and <= MaxSamplingIntervalMs and var ms)
        {
            return (long)Math.Round(ms * 1e6);
        }

        throw new DatasetFormatException($"host '{f.ServerHostname}' of rack '{f.RackId}'",
            $"states no usable sampling interval (sampling_freq = {f.SamplingFreq?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "absent"}, " +
            $"read as ms per sample, expected in (0, {MaxSamplingIntervalMs}]); supply the interval (--interval).");
    }

    /// <summary>
    /// A rack's files as analysis input: one width for all (override, else the width every file states), and every
    /// series padded to the longest host's bins.
    /// </summary>
    /// <exception cref="DatasetFormatException">Hosts state different widths, or none states a usable one.</exception>
    public static MetaRack ToRack(IReadOnlyList<MetaHostFile> files, double linkSpeedBitsPerSecond, long? binWidthNsOverride)
    {
        ArgumentNullException.ThrowIfNull(files);
        long width = 0;
        int bins = 0;
        foreach (MetaHostFile f in files)
        {
            long w = ResolveBinWidthNs(f, binWidthNsOverride);
            if (width != 0 && w != width)
            {
                throw new DatasetFormatException($"host '{f.ServerHostname}' of rack '{f.RackId}'",
                    $"samples every {w} ns but an earlier host every {width} ns; one rack analysis needs one width (or --interval).");
            }

            width = w;
            bins = Math.Max(bins, Math.Max(f.Bins ?? 0, f.IngressBytes.Length));
        }

        var hosts = new HostSeries[files.Count];
        for (int i = 0; i < hosts.Length; i++)
        {
            hosts[i] = ToSeries(files[i], ResolveSpeed(files[i], linkSpeedBitsPerSecond), bins);
        }

        return new MetaRack(hosts, width);
    }

    internal static MetaHostFile? TryRead(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        long length = new FileInfo(path).Length;
        if (length > MaxHostFileBytes)
        {
            throw new DatasetFormatException(path, $"is {length:N0} bytes; a host file may hold at most {MaxHostFileBytes:N0} bytes (a real one is under 1 MiB).");
        }

        byte[] raw = File.ReadAllBytes(path);
        ReadOnlySpan<byte> json = raw;
        bool gzip = raw.Length >= 2 && raw[0] == 0x1f && raw[1] == 0x8b;
        if (gzip)
        {
            try
            {
                using var gz = new GZipStream(new MemoryStream(raw, writable: false), CompressionMode.Decompress);
                var inflated = new MemoryStream(InflatedSizeHint(raw));
                CopyBounded(gz, inflated, path);
                json = inflated.GetBuffer().AsSpan(0, (int)inflated.Length);
            }
            catch (InvalidDataException e)
            {
                throw new DatasetFormatException(path, $"is not a valid gzip stream: {e.Message}", e);
            }

            // GZipStream ends quietly at a cut-off stream; a cut inside the header leaves nothing at all.
            if (json.IsEmpty)
            {
                throw new DatasetFormatException(path, "is gzip but inflates to nothing (empty, or a truncated or corrupt gzip stream).");
            }
        }

        // A UTF-8 byte order mark is legal in a text file but not in the JSON reader's input.
        if (json.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            json = json[3..];
        }

        try
        {
            return MetaJson.Parse(json, path);
        }
        catch (DatasetFormatException e) when (gzip && e.InnerException is System.Text.Json.JsonException)
        {
            throw new DatasetFormatException(path, e.Problem + " A gzip stream cut short (an interrupted copy) ends like this.", e.InnerException);
        }
    }

    /// <summary>Inflates into <paramref name="into"/> and stops with a clear error past <see cref="MaxHostFileBytes"/>.</summary>
    private static void CopyBounded(Stream from, MemoryStream into, string path)
    {
        byte[] buffer = new byte[1 << 16];
        int read;
        while ((read = from.Read(buffer)) > 0)
        {
            if (into.Length + read > MaxHostFileBytes)
            {
                throw new DatasetFormatException(path, $"inflates to more than {MaxHostFileBytes:N0} bytes, the most a host file may hold (a real one is under 1 MiB); it is not read further.");
            }

            into.Write(buffer, 0, read);
        }
    }

    // The gzip trailer's last 4 bytes hold the inflated size mod 2^32 (of the last member): a good first capacity.
    private static int InflatedSizeHint(byte[] gzip)
    {
        uint size = gzip.Length >= 18 ? System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(gzip.AsSpan(gzip.Length - 4)) : 0;
        return size > 0 && size <= 64L * gzip.Length && size <= MaxHostFileBytes ? (int)size + 1 : (int)Math.Min(gzip.Length * 4L, MaxHostFileBytes);
    }

    private static double ResolveSpeed(MetaHostFile f, double linkSpeedBitsPerSecond) =>
        linkSpeedBitsPerSecond > 0 ? linkSpeedBitsPerSecond
        : f.LinkSpeedBitsPerSecond is > 0 and var stated ? stated
        : throw new ArgumentException(
            $"Host '{f.ServerHostname}' of rack '{f.RackId}': no link speed given and the file states none; supply one (--link-speed).",
            nameof(linkSpeedBitsPerSecond));

    private static HostSeries ToSeries(MetaHostFile f, double speed, int bins)
    {
        int covered = Math.Min(f.BinsRecorded ?? f.IngressBytes.Length, f.IngressBytes.Length);
        ulong[] connections = f.InConnections ?? f.Connections;
        var conn = new uint[bins];
        for (int i = 0; i < Math.Min(bins, connections.Length); i++)
        {
            conn[i] = (uint)Math.Min(connections[i], uint.MaxValue);
        }

        return new HostSeries(f.ServerHostname, speed, f.ClockErrorNs ?? -1, covered,
            Pad(f.IngressBytes, bins), Pad(f.InCongestionExperiencedBytes, bins), Pad(f.InRxmitBytes, bins), conn,
            Pad(f.EgressBytes, bins), f.InCrossRegionBytes is null ? null : Pad(f.InCrossRegionBytes, bins));
    }

    private static ulong[] Pad(ulong[] values, int bins)
    {
        var padded = new ulong[bins];
        values.AsSpan(0, Math.Min(bins, values.Length)).CopyTo(padded);
        return padded;
    }

    private static void CheckWritable(MetaHostFile f)
    {
        if (string.IsNullOrEmpty(f.ServerHostname) || string.IsNullOrEmpty(f.RackId))
        {
            throw new ArgumentException("A host file needs a server_hostname and a rack_id.", nameof(f));
        }

        if (f.IngressBytes is null || f.EgressBytes is null || f.InRxmitBytes is null || f.OutRxmitBytes is null
            || f.InCongestionExperiencedBytes is null || f.Connections is null)
        {
            throw new ArgumentException($"Host file of '{f.ServerHostname}' lacks one of Meta's six series; readers of the format need all six.", nameof(f));
        }
    }

    private static bool IsHostFileName(string name)
    {
        foreach (string suffix in HostFileSuffixes)
        {
            if (name.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private static ulong[] Widen(Google.Protobuf.Collections.RepeatedField<uint> values)
    {
        var wide = new ulong[values.Count];
        for (int i = 0; i < wide.Length; i++)
        {
            wide[i] = values[i];
        }

        return wide;
    }

    private static ulong[]? OrNull(Google.Protobuf.Collections.RepeatedField<ulong> values) =>
        values.Count == 0 ? null : [.. values];

    private static string Safe(string text)
    {
        return string.Create(text.Length, text, static (span, t) =>
        {
            for (int i = 0; i < t.Length; i++)
            {
                char c = t[i];
                span[i] = char.IsAsciiLetterOrDigit(c) || c is '-' or '.' ? c : '_';
            }
        });
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
            // Best effort: the temporary name cannot be mistaken for a host file.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
