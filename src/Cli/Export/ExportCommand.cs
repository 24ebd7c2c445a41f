using System.CommandLine;
using Millisampler.Analysis.Datasets;
using Millisampler.Cli.Connection;
using Millisampler.Cli.Output;
using Millisampler.Cli.Summary;
using Millisampler.Common.Text;
using Millisampler.Contracts.V1;
using Spectre.Console;

namespace Millisampler.Cli.Export;

/// <summary>
/// <c>export CAPTURE DIR</c>: a capture's per-host runs as gzipped JSON files in the shape of Meta's
/// SyncMillisampler data set (docs/dataset-format.md), one per host, each written atomically; with
/// <c>--format parquet|csv</c> one tidy file of the whole capture instead (<see cref="TidyExport"/>).
/// </summary>
internal static class ExportCommand
{
    public static Command Create(CliEnvironment env)
    {
        CoordinatorOptions coordinator = CommonOptions.Coordinator(env);
        Argument<string> capture = new("CAPTURE") { Description = "Capture id" };
        Argument<string> dir = new("DIR") { Description = "Directory to write to (created when missing)" };
        Option<bool> force = new("--force") { Description = "Overwrite files that already exist" };
        Option<string> format = new("--format")
        {
            Description = "meta: one gzipped JSON file per host in Meta's data-set shape; parquet or csv: one file, one row per host and bin",
            DefaultValueFactory = _ => "meta",
            HelpName = "meta|parquet|csv",
        };
        format.AcceptOnlyFromAmong("meta", "parquet", "csv");
        var command = new Command("export", "Write a capture's per-host series as files in the shape of Meta's SyncMillisampler data set, or as one Parquet or CSV table")
        {
            capture, dir, coordinator, force, format,
        };
        command.SetAction(async (r, ct) =>
        {
            using CoordinatorConnection conn = coordinator.Open(r);
            Capture meta = await conn.CallAsync(
                (c, t) => c.GetCaptureAsync(new GetCaptureRequest { CaptureId = r.GetValue(capture)! }, cancellationToken: t).ResponseAsync,
                ct).ConfigureAwait(false);
            GetCaptureSeriesResponse series = await conn.CallAsync(
                (c, t) => c.GetCaptureSeriesAsync(new GetCaptureSeriesRequest { CaptureId = r.GetValue(capture)! }, cancellationToken: t).ResponseAsync,
                ct).ConfigureAwait(false);
            IAnsiConsole console = CliConsole.Create(env.Stdout, env.StdoutIsTerminal);
            SayHostsWithoutRun(console, meta, series);
            string f = r.GetValue(format)!;
            return f == "meta"
                ? Write(console, r.GetValue(capture)!, series, r.GetValue(dir)!, r.GetValue(force), ct)
                : await WriteTidyAsync(console, r.GetValue(capture)!, series, r.GetValue(dir)!, f, r.GetValue(force), ct).ConfigureAwait(false);
        });
        return command;
    }

    /// <summary>
    /// Names the capture's hosts that have no run at all (refused, unreachable before the start): the series hold only
    /// hosts that returned a run, and an export must not leave a host out without saying so.
    /// </summary>
    internal static void SayHostsWithoutRun(IAnsiConsole console, Capture capture, GetCaptureSeriesResponse series)
    {
        var withRun = series.Runs.Select(r => r.Host).ToHashSet(StringComparer.Ordinal);
        foreach (HostOutcome h in capture.Hosts.Where(h => !withRun.Contains(h.Host)).OrderBy(h => h.Host, StringComparer.Ordinal))
        {
            string why = CaptureText.Outcome(h.Outcome) + (string.IsNullOrEmpty(h.Reason) ? "" : $": {h.Reason}");
            console.Line($"{h.Host}: skipped, no data ({why})");
        }
    }

    /// <summary>Writes one file per run that holds data; refuses to overwrite unless <paramref name="force"/>.</summary>
    internal static int Write(IAnsiConsole console, string captureId, GetCaptureSeriesResponse series, string dir, bool force,
        CancellationToken cancellationToken)
    {
        var planned = new List<(Run Run, MetaHostFile File, string Path)>();
        var byPath = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Run run in series.Runs.OrderBy(r => r.Host, StringComparer.Ordinal))
        {
            if (run.Status == RunStatus.Failed || run.BinsRecorded == 0)
            {
                console.Line($"{run.Host}: skipped, no data ({(string.IsNullOrEmpty(run.StatusDetail) ? "no bins recorded" : run.StatusDetail)})");
                continue;
            }

            MetaHostFile file;
            try
            {
                file = MetaDataset.FromRun(run);
            }
            catch (ArgumentException e)
            {
                throw new CliException($"capture {captureId}: {e.Message}");
            }

            string path = Path.Combine(dir, MetaDataset.DefaultFileName(file));
            if (byPath.TryGetValue(path, out string? other))
            {
                throw new CliException($"hosts '{other}' and '{run.Host}' map to the same file name {Path.GetFileName(path)}; export them to separate directories");
            }

            byPath[path] = run.Host;
            planned.Add((run, file, path));
        }

        if (planned.Count == 0)
        {
            throw new CliException($"capture {captureId} has no host with data to export");
        }

        if (!force)
        {
            var existing = planned.Where(p => File.Exists(p.Path)).Select(p => p.Path).ToList();
            if (existing.Count > 0)
            {
                throw new CliException($"{existing[0]} already exists{(existing.Count > 1 ? $" (and {existing.Count - 1} more)" : "")}; --force overwrites");
            }
        }

        // Every file is written into a staging directory beside the target and moved in only once all are complete,
        // so a failure part-way (disk full, a name the file system refuses, Ctrl-C) never leaves a partial set.
        Directory.CreateDirectory(dir);
        string staging = Path.Combine(dir, $".export-{Guid.NewGuid():N}.partial");
        Directory.CreateDirectory(staging);
        int staged = 0;
        try
        {
            foreach ((Run _, MetaHostFile file, string path) in planned)
            {
                cancellationToken.ThrowIfCancellationRequested();
                MetaDataset.Write(Path.Combine(staging, Path.GetFileName(path)), file);
                staged++;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or OperationCanceledException)
        {
            TryDelete(staging);
            throw new CliException($"export of capture {captureId} stopped after {staged} of {planned.Count} host file(s): {e.Message}; nothing was written to {dir}");
        }

        int moved = 0;
        try
        {
            foreach ((Run run, MetaHostFile _, string path) in planned)
            {
                File.Move(Path.Combine(staging, Path.GetFileName(path)), path, overwrite: force);
                moved++;
                string cut = run.BinsRecorded < run.Bins ? $" of {run.Bins} (cut short)" : "";
                console.Line($"{run.Host}: {run.BinsRecorded} bins{cut} -> {path} ({SizeText.Bytes((ulong)new FileInfo(path).Length)})");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"export of capture {captureId} is INCOMPLETE: moved {moved} of {planned.Count} host file(s) into {dir}, then: {e.Message}; the rest are in {staging}");
        }

        TryDelete(staging);
        console.Line($"Wrote {planned.Count} host file(s) of capture {captureId} to {dir}");
        return ExitCodes.Ok;
    }

    /// <summary>
    /// Writes one Parquet or CSV file, <c>DIR/CAPTURE.parquet|csv</c>, of every run that holds data: into a temporary
    /// file beside it, moved into place only when complete (a failure leaves no half-written file).
    /// </summary>
    internal static async Task<int> WriteTidyAsync(IAnsiConsole console, string captureId, GetCaptureSeriesResponse series, string dir,
        string format, bool force, CancellationToken cancellationToken)
    {
        var runs = new List<Run>();
        foreach (Run run in series.Runs.OrderBy(r => r.Host, StringComparer.Ordinal))
        {
            if (run.Status == RunStatus.Failed || run.BinsRecorded == 0)
            {
                console.Line($"{run.Host}: skipped, no data ({(string.IsNullOrEmpty(run.StatusDetail) ? "no bins recorded" : run.StatusDetail)})");
                continue;
            }

            if (run.BinWidthNs <= 0)
            {
                throw new CliException($"capture {captureId}: host '{run.Host}' has bin_width_ns {run.BinWidthNs}; it must be positive");
            }

            runs.Add(run);
        }

        if (runs.Count == 0)
        {
            throw new CliException($"capture {captureId} has no host with data to export");
        }

        if (captureId.AsSpan().IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || captureId is "." or "..")
        {
            throw new CliException($"capture id '{captureId}' cannot be a file name");
        }

        string path = Path.Combine(dir, $"{captureId}.{format}");
        if (!force && File.Exists(path))
        {
            throw new CliException($"{path} already exists; --force overwrites");
        }

        Directory.CreateDirectory(dir);
        string temp = Path.Combine(dir, $".{captureId}.{format}.{Guid.NewGuid():N}.partial");
        long rows;
        try
        {
            await using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                if (format == "parquet")
                {
                    rows = await TidyExport.WriteParquetAsync(stream, captureId, runs, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await using var text = new StreamWriter(stream, new System.Text.UTF8Encoding(false), 1 << 16, leaveOpen: true);
                    rows = TidyExport.WriteCsv(text, captureId, runs, cancellationToken);
                    await text.FlushAsync(cancellationToken).ConfigureAwait(false);
                }

                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: force);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or OperationCanceledException)
        {
            throw new CliException($"export of capture {captureId} stopped: {e.Message}; nothing was written to {path}");
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }

        console.Line($"Wrote {rows} rows ({runs.Count} hosts) of capture {captureId} to {path} ({SizeText.Bytes((ulong)new FileInfo(path).Length)})");
        return ExitCodes.Ok;
    }

    private static void TryDelete(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }
}
