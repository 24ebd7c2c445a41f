using System.CommandLine;
using Millisampler.Analysis;
using Millisampler.Analysis.Datasets;
using Millisampler.Cli.Analyze;
using Millisampler.Cli.Connection;
using Millisampler.Cli.Output;
using Millisampler.Common.Text;
using Millisampler.Contracts.V1;
using Millisampler.Web;
using Millisampler.Web.Views;

namespace Millisampler.Cli.Report;

/// <summary>
/// <c>report CAPTURE|DIR -o FILE</c>: one self-contained HTML file (the views' bundle and the data inline, no network
/// needed to open it) with the host × time heatmap, the contention timeline, each host's series and the tables.
/// CAPTURE is a capture id on the coordinator; an existing directory is read as a data set and analysed offline.
/// </summary>
internal static class ReportCommand
{
    public static Command Create(CliEnvironment env)
    {
        Argument<string> source = new("CAPTURE|DIR") { Description = "A capture id on the coordinator, or a directory of host files (analysed offline)" };
        Option<string> output = new("--output", "-o") { Description = "The HTML file to write", HelpName = "FILE", Required = true };
        CoordinatorOptions coordinator = CommonOptions.Coordinator(env);
        Option<long?> interval = CommonOptions.Duration("--interval", "DIR only: bin width [default: from the files]", "100us, 1ms, 10ms");
        Option<double?> linkSpeed = CommonOptions.Rate("--link-speed", "DIR only: every host's link speed, when the files state none");
        Option<double?> threshold = CommonOptions.Threshold();
        Option<int?> minHosts = CommonOptions.MinHosts();
        Option<string> rack = new("--rack") { Description = "DIR only: the rack to show, when DIR holds several", HelpName = "rack" };
        Option<bool> force = new("--force") { Description = "Overwrite FILE if it exists" };
        var command = new Command("report", "Write one self-contained HTML report of a capture (or of a data-set directory) to attach to a ticket")
        {
            source, output, coordinator, interval, linkSpeed, threshold, minHosts, rack, force,
        };
        command.SetAction(async (r, ct) =>
        {
            string what = r.GetValue(source)!;
            string file = r.GetValue(output)!;
            if (!r.GetValue(force) && File.Exists(file))
            {
                throw new UsageException($"--output: {file} already exists; --force overwrites");
            }

            Capture capture;
            string title;
            IReadOnlyList<MetaHostFile> files;
            if (Directory.Exists(what))
            {
                var request = new AnalyzeCommand.AnalyzeRequest(what, r.GetValue(rack), r.GetValue(interval), r.GetValue(linkSpeed),
                    new AnalysisOptions(r.GetValue(threshold) ?? 0.5, r.GetValue(minHosts) ?? 2));
                (capture, title, files) = AnalyzeCommand.RunWithFiles(request);
            }
            else
            {
                using CoordinatorConnection conn = coordinator.Open(r);
                capture = await conn.CallAsync((c, t) => c.GetCaptureAsync(new GetCaptureRequest { CaptureId = what }, cancellationToken: t).ResponseAsync, ct)
                    .ConfigureAwait(false);
                GetCaptureSeriesResponse series = await conn.CallAsync(
                    (c, t) => c.GetCaptureSeriesAsync(new GetCaptureSeriesRequest { CaptureId = what }, cancellationToken: t).ResponseAsync, ct)
                    .ConfigureAwait(false);
                files = CaptureViewJson.FilesOf(series.Runs);
                title = $"Capture {capture.CaptureId} on rack {capture.Rack}";
            }

            long size = Write(file, capture, files, title, Directory.Exists(what) ? Path.GetFullPath(what) : null);
            CliConsole.Create(env.Stdout, env.StdoutIsTerminal).Line(
                $"Wrote {file} ({SizeText.Bytes((ulong)size)}): {files.Count} hosts x {capture.Bins} bins; opens offline in a browser");
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>Writes the report atomically (a temporary file renamed into place); returns its size.</summary>
    internal static long Write(string path, Capture capture, IReadOnlyList<MetaHostFile> files, string title, string? source)
    {
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir))
        {
            throw new UsageException($"--output: directory {dir} does not exist");
        }

        using var json = new MemoryStream();
        CaptureViewJson.Write(json, capture, files, source);
        string temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        try
        {
            using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                WebAssets.WriteReport(stream, title, json.GetBuffer().AsSpan(0, (int)json.Length));
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }

        return new FileInfo(full).Length;
    }
}
