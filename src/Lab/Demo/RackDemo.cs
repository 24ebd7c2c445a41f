using System.Globalization;
using System.Net;
using System.Text.Json;
using Millisampler.Common.Text;

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
        var binaries = ServiceBinaries.Locate();
        string work = options.WorkDirectory ?? Path.Combine(Path.GetTempPath(), $"millisampler-demo-{Environment.ProcessId}");
        bool ok = false;
        output.WriteLine($"building a rack: {options.Hosts} hosts on a ToR bridge (1 Gbit/s ports), {options.Senders} senders outside the rack");
        await using var rack = await RackTopology.Create().WithHosts(options.Hosts).WithSenders(options.Senders)
            .WithTorShaping(TbfOptions.Gigabit).BuildAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using (var services = RackServices.Create(rack, binaries, work))
            {
                services.StartCoordinator();
                services.StartAgents(TorRateBitsPerSecond);
                output.WriteLine($"started a coordinator ({services.CoordinatorUrl}) and {options.Hosts} agents, mutual TLS with a throw-away CA "
                    + $"({services.Certificates!.Directory}; the CLI presents '{services.Engineer!.CertificatePath}', role {RackServices.EngineerRole}); waiting for them to register");
                await services.WaitForRegistrationAsync(options.Hosts, TimeSpan.FromSeconds(90), cancellationToken).ConfigureAwait(false);
                var (code, racks, _) = await services.CliAsync(["racks"], cancellationToken).ConfigureAwait(false);
                output.WriteLine(racks.TrimEnd());

                var sinks = rack.Hosts.Select(h => TcpSink.Start(h.Namespace, new IPEndPoint(h.Address, SinkPort))).ToList();
                try
                {
                    await using var background = await BackgroundLoadAsync(rack, cancellationToken).ConfigureAwait(false);
                    ok = await CaptureWithIncastAsync(services, options, output, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    foreach (var s in sinks)
                    {
                        await s.DisposeAsync().ConfigureAwait(false);
                    }
                }
                output.WriteLine("stopping agents and coordinator");
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

            output.WriteLine("removing the rack's namespaces");
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

    private static async Task<bool> CaptureWithIncastAsync(RackServices services, RackDemoOptions options, TextWriter output, CancellationToken cancellationToken)
    {
        var rack = services.Rack;
        var (code, json, err) = await services.CliAsync(
            ["capture", "--rack", RackServices.RackName, "--interval", options.Interval, "--samples", options.Samples.ToString(CultureInfo.InvariantCulture), "--lead", "1s", "--output", "json"],
            cancellationToken).ConfigureAwait(false);
        if (code != 0)
        {
            output.WriteLine($"capture failed to start: {err.Trim()}");
            return false;
        }
        using var doc = JsonDocument.Parse(json);
        string id = doc.RootElement.GetProperty("captureId").GetString()!;
        long start = long.Parse(doc.RootElement.GetProperty("startTaiNs").GetString()!, CultureInfo.InvariantCulture);
        long width = ParseDurationNs(options.Interval);
        long length = width * options.Samples;
        long incastAt = start + (long)(length * options.IncastAt);
        long loneAt = start + (long)(length * options.LoneAt);
        output.WriteLine($"capture {id}: {options.Samples} × {options.Interval} bins from TAI {start} ns");
        output.WriteLine($"incast at bin {(incastAt - start) / width} onto {string.Join(", ", options.IncastHosts.Select(i => RackServices.HostName(rack.Hosts[i])))} from {rack.Senders.Count} senders; a lone burst at bin {(loneAt - start) / width} onto {RackServices.HostName(rack.Hosts[options.LoneHost])}");

        var senders = rack.Senders.Select(s => new BurstSender(s.Namespace, options.IncastBytesPerSender)).ToList();
        var incasts = options.IncastHosts.Select(i => TcpIncast.RunAsync(senders, new IPEndPoint(rack.Hosts[i].Address, SinkPort), incastAt, cancellationToken: cancellationToken)).ToList();
        var lone = TcpIncast.RunAsync([new BurstSender(rack.Senders[0].Namespace, options.IncastBytesPerSender * 2)], new IPEndPoint(rack.Hosts[options.LoneHost].Address, SinkPort), loneAt, cancellationToken: cancellationToken);
        await Task.WhenAll(incasts.Append(lone)).ConfigureAwait(false);

        // Wait for the coordinator to collect and analyse.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60) + TimeSpan.FromTicks(length / 100);
        string state = string.Empty;
        while (DateTime.UtcNow < deadline)
        {
            var (c, shown, _) = await services.CliAsync(["captures", "show", id, "--output", "json"], cancellationToken).ConfigureAwait(false);
            if (c == 0)
            {
                using var d = JsonDocument.Parse(shown);
                state = d.RootElement.TryGetProperty("state", out var s) ? s.GetString() ?? string.Empty : string.Empty;
                if (state is "CAPTURE_STATE_ANALYSED" or "CAPTURE_STATE_FAILED")
                {
                    break;
                }
            }
            await Task.Delay(500, cancellationToken).ConfigureAwait(false);
        }
        var (_, table, _) = await services.CliAsync(["captures", "show", id], cancellationToken).ConfigureAwait(false);
        output.WriteLine();
        output.WriteLine(table.TrimEnd());
        output.WriteLine();
        return state == "CAPTURE_STATE_ANALYSED";
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
