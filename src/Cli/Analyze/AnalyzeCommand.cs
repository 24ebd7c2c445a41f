using System.CommandLine;
using Millisampler.Analysis;
using Millisampler.Analysis.Datasets;
using Millisampler.Cli.Output;
using Millisampler.Cli.Summary;
using Millisampler.Contracts.V1;

namespace Millisampler.Cli.Analyze;

/// <summary>
/// <c>analyze DIR</c>: reads host files in the shape of Meta's SyncMillisampler data set (ours from <c>export</c>,
/// or Meta's published ones) and runs the same analysis the coordinator runs, offline.
/// </summary>
internal static class AnalyzeCommand
{
    public static Command Create(CliEnvironment env)
    {
        Argument<string> dir = new("DIR") { Description = "Directory of host files (rackId_<rack>_hostId_<host>.txt.gz, .json, ...)" };
        Option<long?> interval = CommonOptions.Duration("--interval", "Bin width [default: from the files: bin_width_ns, else sampling_freq in ms]", "100us, 1ms, 10ms");
        Option<double?> linkSpeed = CommonOptions.Rate("--link-speed", "Every host's link speed; required unless the files state one (Meta's do not)");
        Option<double?> threshold = CommonOptions.Threshold();
        Option<int?> minHosts = CommonOptions.MinHosts();
        Option<string> rack = new("--rack") { Description = "The rack to analyse, when DIR holds several (Meta's folders do)", HelpName = "rack" };
        Option<OutputFormat?> output = CommonOptions.Output();
        var command = new Command("analyze", "Analyse a directory of host files offline: bursts, contention, synchronized events")
        {
            dir, interval, linkSpeed, threshold, minHosts, rack, output,
        };
        command.SetAction(r =>
        {
            var request = new AnalyzeRequest(r.GetValue(dir)!, r.GetValue(rack), r.GetValue(interval), r.GetValue(linkSpeed),
                new AnalysisOptions(r.GetValue(threshold) ?? 0.5, r.GetValue(minHosts) ?? 2));
            (Capture capture, string title) = Run(request);
            if (r.OutputOf(output) == OutputFormat.Json)
            {
                CliConsole.WriteJson(env.Stdout, capture.Analysis);
            }
            else
            {
                new CaptureSummaryRenderer(CliConsole.Create(env.Stdout, env.StdoutIsTerminal)).Render(capture, title);
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>What to analyse.</summary>
    /// <param name="Directory">The data-set directory.</param>
    /// <param name="Rack">Rack to keep; null = the only rack in the directory.</param>
    /// <param name="BinWidthNs">Bin width override, ns.</param>
    /// <param name="LinkSpeedBitsPerSecond">Link speed for every host, bits/s; null = what the files state.</param>
    /// <param name="Options">θ and k.</param>
    internal sealed record AnalyzeRequest(string Directory, string? Rack, long? BinWidthNs, double? LinkSpeedBitsPerSecond, AnalysisOptions Options);

    /// <summary>
    /// Reads and analyses; the result is shaped as a <see cref="Capture"/> (state analysed, one collected host per
    /// file) so it prints like a coordinator capture.
    /// </summary>
    /// <exception cref="UsageException">DIR is missing, holds several racks without --rack, or --link-speed is needed.</exception>
    /// <exception cref="DatasetFormatException">A file cannot be used.</exception>
    internal static (Capture Capture, string Title) Run(AnalyzeRequest request)
    {
        (Capture capture, string title, _) = RunWithFiles(request);
        return (capture, title);
    }

    /// <summary>As <see cref="Run"/>, also returning the host files read (for views of the series).</summary>
    internal static (Capture Capture, string Title, IReadOnlyList<MetaHostFile> Files) RunWithFiles(AnalyzeRequest request)
    {
        if (!Directory.Exists(request.Directory))
        {
            throw new UsageException($"DIR: '{request.Directory}' is not a directory");
        }

        IReadOnlyList<MetaHostFile> files = MetaDataset.ReadDirectory(request.Directory, request.Rack);
        var racks = files.Select(f => f.RackId).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (racks.Count > 1)
        {
            string shown = string.Join(", ", racks.Take(10)) + (racks.Count > 10 ? $", ... ({racks.Count - 10} more)" : "");
            throw new UsageException($"--rack: {request.Directory} holds {racks.Count} racks ({shown}); choose one with --rack");
        }

        if (request.LinkSpeedBitsPerSecond is null)
        {
            var unstated = files.Where(f => f.LinkSpeedBitsPerSecond is not > 0).ToList();
            if (unstated.Count > 0)
            {
                throw new UsageException($"--link-speed: required: {unstated.Count} of {files.Count} host files state no link speed "
                    + $"(Meta's files carry none, e.g. host '{unstated[0].ServerHostname}'); give the hosts' link speed, like 10g, 25g, 12.5g");
            }
        }

        MetaRack rack = MetaDataset.ToRack(files, request.LinkSpeedBitsPerSecond ?? 0, request.BinWidthNs);
        RackAnalysis analysis;
        RackInsights insights;
        try
        {
            analysis = RackAnalyzer.Analyze(rack.Hosts, rack.BinWidthNs, request.Options);
            insights = RackInsightsAnalyzer.Analyze(rack.Hosts, analysis, new InsightOptions());
        }
        catch (ArgumentException e)
        {
            // Two files for one host (say a .json beside a .txt.gz), or a series the analyser cannot use.
            throw new CliException($"{request.Directory}: {e.Message}");
        }

        var untrusted = analysis.UntrustedAlignmentHosts.ToHashSet(StringComparer.Ordinal);
        var capture = new Capture
        {
            Rack = racks[0],
            State = CaptureState.Analysed,
            StartTaiNs = files.Select(f => f.StartTaiNs).FirstOrDefault(s => s is > 0) ?? 0,
            BinWidthNs = rack.BinWidthNs,
            Bins = (uint)analysis.Bins,
            HostsCovered = (uint)rack.Hosts.Count,
            HostsRequested = (uint)rack.Hosts.Count,
            Analysis = analysis.ToProto(insights),
        };
        foreach (HostSeries h in rack.Hosts)
        {
            capture.Hosts.Add(new HostOutcome
            {
                Host = h.Host,
                Outcome = h.BinsCovered < analysis.Bins ? HostOutcomeKind.HostOutcomePartial : HostOutcomeKind.HostOutcomeCollected,
                BinsCovered = (uint)h.BinsCovered,
                ClockErrorNs = h.ClockErrorNs,
                AlignmentTrusted = !untrusted.Contains(h.Host),
                LinkSpeedBitsPerSecond = (ulong)h.LinkSpeedBitsPerSecond,
            });
        }

        return (capture, $"Rack {racks[0]} from {request.Directory}: {rack.Hosts.Count} hosts (offline analysis)", files);
    }
}
