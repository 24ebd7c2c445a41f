using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using Millisampler.Common.Text;
using Millisampler.Common.Time;

namespace Millisampler.Lab;

/// <summary>What the demo does; every default is what the README's command runs.</summary>
public sealed record RackDemoOptions
{
    public int Hosts { get; init; } = 6;
    public int Senders { get; init; } = 6;
    public string Interval { get; init; } = "1ms";
    public int Samples { get; init; } = 2000;

    /// <summary>Hosts (0-based) the synchronized incast hits.</summary>
    public IReadOnlyList<int> IncastHosts { get; init; } = [0, 1, 2];

    /// <summary>When the incast starts, as a fraction of the capture's length.</summary>
    public double IncastAt { get; init; } = 0.35;

    /// <summary>A host hit alone, later: a burst that is not part of the synchronized event.</summary>
    public int LoneHost { get; init; } = 3;

    public double LoneAt { get; init; } = 0.7;

    /// <summary>Bytes each sender sends to each incast host.</summary>
    public long IncastBytesPerSender { get; init; } = 1_000_000;

    /// <summary>Keep logs and stores here; default a temporary directory, removed unless the demo fails.</summary>
    public string? WorkDirectory { get; init; }

    /// <summary>Where the report and the last metrics scrapes are written (kept after the demo).</summary>
    public string OutputDirectory { get; init; } = Path.Combine(Path.GetTempPath(), "millisampler-demo");

    /// <summary>Time between the capture request and its start instant: the agents' first ScheduleRun runs cold.</summary>
    public string Lead { get; init; } = "8s";
}

/// <summary>
/// The README's main job: a rack in network namespaces (hosts on a ToR bridge with 1 Gbit/s
/// ports, senders outside), an agent on every host and a coordinator, all real processes;
/// background load; a capture triggered through the CLI while an incast hits some hosts at a
/// known instant; the analysis printed. Everything it made is removed, also on Ctrl-C or failure.
/// </summary>
public static class RackDemo
{
    private const int SinkPort = 9000;
    private const long TorRateBitsPerSecond = 1_000_000_000;

    public static async Task<int> RunAsync(RackDemoOptions options, TextWriter output, CancellationToken cancellationToken)
    {
        var progress = new DemoProgress(output);
        var binaries = ServiceBinaries.Locate();
        string work = options.WorkDirectory ?? Path.Combine(Path.GetTempPath(), $"millisampler-demo-{Environment.ProcessId}");
        bool ok = false;
        progress.Step($"building a rack: {options.Hosts} hosts on a ToR bridge (1 Gbit/s ports), {options.Senders} senders outside the rack");
        await using var rack = await RackTopology.Create().WithHosts(options.Hosts).WithSenders(options.Senders)
            .WithTorShaping(TbfOptions.Gigabit).BuildAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using (var services = RackServices.Create(rack, binaries, work))
            {
                services.StartCoordinator();
                services.StartAgents(TorRateBitsPerSecond);
                progress.Step($"started a coordinator ({services.CoordinatorUrl}) and {options.Hosts} agents (real eBPF program), mutual TLS with a throw-away CA "
                    + $"({services.Certificates!.Directory}; the CLI presents '{services.Engineer!.CertificatePath}', role {RackServices.EngineerRole}); waiting for every agent to register");
                await services.WaitForRegistrationAsync(options.Hosts, TimeSpan.FromSeconds(120), cancellationToken).ConfigureAwait(false);
                var (_, racks, _) = await services.CliAsync(["racks"], cancellationToken).ConfigureAwait(false);
                progress.Step("every agent registered:");
                output.WriteLine(racks.TrimEnd());

                var sinks = rack.Hosts.Select(h => TcpSink.Start(h.Namespace, new IPEndPoint(h.Address, SinkPort))).ToList();
                DemoCapture? capture;
                try
                {
                    progress.Step("starting background traffic (8 connections per sender, 1 kB every 20 ms)");
                    await using var background = await BackgroundLoadAsync(rack, cancellationToken).ConfigureAwait(false);
                    capture = await CaptureWithIncastAsync(services, options, progress, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    foreach (var s in sinks)
                    {
                        await s.DisposeAsync().ConfigureAwait(false);
                    }
                }

                if (capture is not null)
                {
                    bool seen = CheckScenario(capture, rack, options, progress);
                    var look = await SaveWhereToLookAsync(services, capture, options, progress, cancellationToken).ConfigureAwait(false);
                    ok = seen && look is not null;
                    if (look is not null)
                    {
                        PrintWhereToLook(output, services, look);
                    }
                }

                progress.Step("stopping agents and coordinator");
            }

            return ok ? 0 : 1;
        }
        finally
        {
            if (ok && options.WorkDirectory is null)
            {
                TryDelete(work);
            }
            else
            {
                output.WriteLine($"logs and stores kept in {work}");
            }

            progress.Step("removing the rack's namespaces");
        }
    }

    /// <summary>Light, steady traffic from every sender to one host each: well under the burst threshold.</summary>
    private static async Task<AsyncDisposables> BackgroundLoadAsync(Rack rack, CancellationToken cancellationToken)
    {
        var holders = new AsyncDisposables();
        foreach (var s in rack.Senders)
        {
            var host = rack.Hosts[s.Index % rack.Hosts.Count];
            holders.Add(await ConnectionHolder.StartAsync(new ConnectionHolderOptions
            {
                Namespace = s.Namespace,
                Target = new IPEndPoint(host.Address, SinkPort),
                Connections = 8,
                Period = TimeSpan.FromMilliseconds(20),
                MessageBytes = 1000,
                Duration = TimeSpan.FromMinutes(5),
            }, cancellationToken).ConfigureAwait(false));
        }
        return holders;
    }

    /// <summary>The analysed capture and what the traffic generators did.</summary>
    private sealed record DemoCapture(string Id, long StartTaiNs, long BinWidthNs, long IncastAtTaiNs, BurstResult[] Incast,
        long LoneAtTaiNs, BurstResult Lone, JsonElement Shown, string Table);

    private static async Task<DemoCapture?> CaptureWithIncastAsync(RackServices services, RackDemoOptions options, DemoProgress progress, CancellationToken cancellationToken)
    {
        var rack = services.Rack;
        progress.Step($"asking the coordinator for a capture: {options.Samples} × {options.Interval} bins on every host, starting {options.Lead} from now");
        var (code, json, err) = await services.CliAsync(
            ["capture", "--rack", RackServices.RackName, "--interval", options.Interval, "--samples", options.Samples.ToString(CultureInfo.InvariantCulture), "--lead", options.Lead, "--output", "json"],
            cancellationToken).ConfigureAwait(false);
        if (code != 0)
        {
            progress.Step($"capture failed to start: {err.Trim()}");
            return null;
        }
        string id;
        long start;
        using (var doc = JsonDocument.Parse(json))
        {
            id = doc.RootElement.GetProperty("captureId").GetString()!;
            start = long.Parse(doc.RootElement.GetProperty("startTaiNs").GetString()!, CultureInfo.InvariantCulture);
        }

        long width = ParseDurationNs(options.Interval);
        long length = width * options.Samples;
        long incastAt = start + (long)(length * options.IncastAt);
        long loneAt = start + (long)(length * options.LoneAt);
        progress.Step($"capture {id} armed on every host from TAI {start} ns");
        progress.Step($"planted: an incast at bin {(incastAt - start) / width} onto {string.Join(", ", options.IncastHosts.Select(i => RackServices.HostName(rack.Hosts[i])))} from {rack.Senders.Count} senders; a lone burst at bin {(loneAt - start) / width} onto {RackServices.HostName(rack.Hosts[options.LoneHost])}");

        var senders = rack.Senders.Select(s => new BurstSender(s.Namespace, options.IncastBytesPerSender)).ToList();
        var incasts = options.IncastHosts.Select(i => TcpIncast.RunAsync(senders, new IPEndPoint(rack.Hosts[i].Address, SinkPort), incastAt, cancellationToken: cancellationToken)).ToList();
        var lone = TcpIncast.RunAsync([new BurstSender(rack.Senders[0].Namespace, options.IncastBytesPerSender * 2)], new IPEndPoint(rack.Hosts[options.LoneHost].Address, SinkPort), loneAt, cancellationToken: cancellationToken);
        var incastResults = await Task.WhenAll(incasts).ConfigureAwait(false);
        var loneResult = await lone.ConfigureAwait(false);
        progress.Step($"traffic sent: incast {incastResults.Sum(r => r.BytesSent) / 1_000_000.0:F1} MB, lone burst {loneResult.BytesSent / 1_000_000.0:F1} MB; waiting for the coordinator to collect every host's run and analyse");

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60) + TimeNs.ToTimeSpan(length);
        string state = string.Empty;
        string lastShown = "{}";
        string lastReported = string.Empty;
        while (DateTime.UtcNow < deadline)
        {
            var (c, shown, _) = await services.CliAsync(["captures", "show", id, "--output", "json"], cancellationToken).ConfigureAwait(false);
            if (c == 0)
            {
                lastShown = shown;
                using var d = JsonDocument.Parse(shown);
                state = d.RootElement.TryGetProperty("state", out var s) ? s.GetString() ?? string.Empty : string.Empty;
                if (state != lastReported)
                {
                    progress.Step($"capture {id}: {state.Replace("CAPTURE_STATE_", "", StringComparison.Ordinal).ToLowerInvariant()}");
                    lastReported = state;
                }
                if (state is "CAPTURE_STATE_ANALYSED" or "CAPTURE_STATE_FAILED")
                {
                    break;
                }
            }
            await Task.Delay(500, cancellationToken).ConfigureAwait(false);
        }
        var (_, table, _) = await services.CliAsync(["captures", "show", id], cancellationToken).ConfigureAwait(false);
        progress.Step("the coordinator's analysis (millisampler captures show):");
        progress.Output.WriteLine();
        progress.Output.WriteLine(table.TrimEnd());
        progress.Output.WriteLine();
        if (state != "CAPTURE_STATE_ANALYSED")
        {
            progress.Step($"capture {id} was not analysed (state {state}): {lastShown.Trim()}");
            return null;
        }

        using var final = JsonDocument.Parse(lastShown);
        return new DemoCapture(id, start, width, incastAt, incastResults, loneAt, loneResult, final.RootElement.Clone(), table);
    }

    /// <summary>
    /// The demo checks what it planted: one synchronized event (or several back to back) where the incast started,
    /// with exactly the incast's hosts, and the lone host in no event. Where the traffic generators started late
    /// (this machine's load: they share its cores with the agents and the forwarding), the check moves to where the
    /// traffic really started, and says so.
    /// </summary>
    private static bool CheckScenario(DemoCapture capture, Rack rack, RackDemoOptions options, DemoProgress progress)
    {
        long width = capture.BinWidthNs;
        long plannedBin = (capture.IncastAtTaiNs - capture.StartTaiNs) / width;
        long lateNs = capture.Incast.Max(r => r.MaxStartLatenessNs);
        long lateBin = (capture.IncastAtTaiNs + lateNs - capture.StartTaiNs) / width;
        if (lateBin > plannedBin)
        {
            progress.Step($"note: this machine's load delayed the incast: its senders started up to {lateNs / 1e6:F1} ms late (bin {lateBin} instead of {plannedBin}); the check allows for that");
        }
        long loneLate = capture.Lone.MaxStartLatenessNs;
        if (loneLate > width)
        {
            progress.Step($"note: this machine's load delayed the lone burst by {loneLate / 1e6:F1} ms");
        }

        var planted = options.IncastHosts.Select(i => RackServices.HostName(rack.Hosts[i])).Order(StringComparer.Ordinal).ToList();
        string lone = RackServices.HostName(rack.Hosts[options.LoneHost]);
        var analysis = capture.Shown.TryGetProperty("analysis", out var a) ? a : default;
        var events = analysis.ValueKind == JsonValueKind.Object && analysis.TryGetProperty("events", out var e)
            ? e.EnumerateArray().Select(x => (Start: Bin(x, "startBin"), Length: Math.Max(1, Bin(x, "lengthBins")), Hosts: x.GetProperty("hosts").EnumerateArray().Select(h => h.GetString()!).ToList())).ToList()
            : [];
        // The incast's events: those that begin between a bin before the planned instant and a few bins after the
        // latest sender started (TCP ramps up; a shaped port may split one incast into events back to back).
        var atIncast = events.Where(x => x.Start >= plannedBin - 1 && x.Start <= lateBin + 5).ToList();
        var hosts = atIncast.SelectMany(x => x.Hosts).Distinct().Order(StringComparer.Ordinal).ToList();
        bool incastSeen = atIncast.Count > 0 && hosts.SequenceEqual(planted);
        bool loneApart = !events.Any(x => x.Hosts.Contains(lone));
        if (incastSeen)
        {
            progress.Step($"check passed: a synchronized event at bin {atIncast[0].Start} (planted at {plannedBin}) with exactly {string.Join(", ", planted)}");
        }
        else
        {
            progress.Step(atIncast.Count == 0
                ? $"check FAILED: no synchronized event began between bins {plannedBin - 1} and {lateBin + 5} (events at: {string.Join(", ", events.Select(x => x.Start))})"
                : $"check FAILED: the events at the incast hold {string.Join(", ", hosts)}, planted were {string.Join(", ", planted)}");
        }

        progress.Step(loneApart
            ? $"check passed: {lone}'s lone burst is in no synchronized event"
            : $"check FAILED: {lone}, which was hit alone, is in a synchronized event");
        return incastSeen && loneApart;
    }

    private static long Bin(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? v.GetInt64() : 0;

    /// <summary>Files the demo leaves behind: the report and the last scrapes of /metrics.</summary>
    private sealed record WhereToLook(string Report, string CoordinatorMetrics, string AgentMetrics, string AgentMetricsUrl);

    private static async Task<WhereToLook?> SaveWhereToLookAsync(RackServices services, DemoCapture capture, RackDemoOptions options, DemoProgress progress, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(options.OutputDirectory);
        string report = Path.Combine(options.OutputDirectory, $"capture-{capture.Id}.html");
        progress.Step("writing the capture's report (millisampler report)");
        var (code, _, err) = await services.CliAsync(["report", capture.Id, "--output", report, "--force"], cancellationToken).ConfigureAwait(false);
        if (code != 0)
        {
            progress.Step($"the report failed: {err.Trim()}");
            return null;
        }

        progress.Step("scraping /metrics of the coordinator and of one agent, as Prometheus would");
        var first = services.Rack.Hosts[0];
        string agentUrl = $"http://{first.Address}:{RackServices.AgentMetricsPort}/metrics";
        string coordinatorMetrics = Path.Combine(options.OutputDirectory, "metrics-coordinator.txt");
        string agentMetrics = Path.Combine(options.OutputDirectory, $"metrics-agent-{RackServices.HostName(first)}.txt");
        using (var http = NamespaceHttp.Create(services.Rack.RouterNamespace, TimeSpan.FromSeconds(10)))
        {
            string text = await http.GetStringAsync(new Uri(services.CoordinatorMetricsUrl + "/metrics"), cancellationToken).ConfigureAwait(false);
            await File.WriteAllTextAsync(coordinatorMetrics, text, cancellationToken).ConfigureAwait(false);
            var rackLines = text.Split('\n').Where(l => l.StartsWith("millisampler_coordinator_rack_", StringComparison.Ordinal)
                || l.StartsWith("millisampler_coordinator_hosts{", StringComparison.Ordinal)).ToList();
            progress.Step("the rack's gauges, from the latest analysed capture:");
            foreach (var l in rackLines)
            {
                progress.Output.WriteLine("  " + l);
            }

            await File.WriteAllTextAsync(agentMetrics, await http.GetStringAsync(new Uri(agentUrl), cancellationToken).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        }

        return new WhereToLook(report, coordinatorMetrics, agentMetrics, agentUrl);
    }

    private static void PrintWhereToLook(TextWriter output, RackServices services, WhereToLook look)
    {
        output.WriteLine();
        output.WriteLine("where to look:");
        output.WriteLine($"  the report:  {look.Report}  (one HTML file: heatmap, contention, events; open it in a browser)");
        output.WriteLine($"  metrics:     {services.CoordinatorMetricsUrl}/metrics (coordinator) and {look.AgentMetricsUrl} (an agent),");
        output.WriteLine($"               served inside the rack's namespaces only while a demo runs (ip netns exec {services.Rack.RouterNamespace} curl ...);");
        output.WriteLine($"               this run's last scrapes are kept in {look.CoordinatorMetrics} and {look.AgentMetrics}");
        output.WriteLine("  what they mean: docs/observability.md (metrics, health, example alerts), docs/analysis.md (bursts, contention, events)");
        output.WriteLine();
    }

    internal static long ParseDurationNs(string text) =>
        DurationText.TryParseNs(text, out long ns) ? ns : throw new ArgumentException($"'{text}' is not a duration like 100us, 1ms, 10ms.");

    private static void TryDelete(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Progress lines with the time since the demo started, so a slow step shows as slow, not as a hang.</summary>
internal sealed class DemoProgress(TextWriter output)
{
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public TextWriter Output => output;

    public void Step(string message)
    {
        var t = _clock.Elapsed;
        output.WriteLine($"[{(int)t.TotalMinutes:D2}:{t.Seconds:D2}] {message}");
    }
}

/// <summary>Disposes a set of resources, last first.</summary>
internal sealed class AsyncDisposables : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _items = [];

    public void Add(IAsyncDisposable item) => _items.Add(item);

    public async ValueTask DisposeAsync()
    {
        for (int i = _items.Count - 1; i >= 0; i--)
        {
            await _items[i].DisposeAsync().ConfigureAwait(false);
        }
    }
}
