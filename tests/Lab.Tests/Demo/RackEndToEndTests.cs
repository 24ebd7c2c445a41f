using System.Globalization;
using System.Net;
using System.Text.Json;
using Xunit.Abstractions;

namespace Millisampler.Lab.Tests.Demo;

/// <summary>
/// The whole system on a rack in namespaces: six real agents with the real eBPF program, a real
/// coordinator, the CLI. One rack, three checks in order (building it takes most of the time).
/// </summary>
[Collection(LabCollection.Name)]
public sealed class RackEndToEndTests(ITestOutputHelper output)
{
    private const int SinkPort = 9000;
    private const long BinNs = 10_000_000;
    private const int Bins = 300;

    [Fact]
    public async Task Incast_IsOneEventWithExactlyItsHosts_RestartKeepsCaptures_StoppedAgentMakesPartialResult()
    {
        var binaries = ServiceBinaries.Locate();
        string work = Path.Combine(Path.GetTempPath(), $"ms-e2e-{Environment.ProcessId}-{Guid.NewGuid():N}");
        // 250 Mbit/s ToR ports: two cores forward about 2 Gbit/s in all, so three ports at line rate
        // at once must stay well under that. A deep queue (8 MB) keeps a port busy while the senders,
        // sharing those cores, pause; a shallow one would drain and split one incast into several
        // events. What is tested here is alignment and analysis, not buffer sizing.
        const long portBitsPerSecond = 250_000_000;
        var ports = new TbfOptions(portBitsPerSecond, 32 * 1024, LimitBytes: 8 * 1024 * 1024);
        await using var rack = await RackTopology.Create().WithHosts(6).WithSenders(6).WithTorShaping(ports).BuildAsync();
        try
        {
            await using var services = RackServices.Create(rack, binaries, work);
            services.StartCoordinator();
            services.StartAgents(portBitsPerSecond);
            await services.WaitForRegistrationAsync(6, TimeSpan.FromSeconds(90), CancellationToken.None);
            var sinks = rack.Hosts.Select(h => UdpSink.Start(h.Namespace, new IPEndPoint(h.Address, SinkPort))).ToList();
            try
            {
                // 1. An incast onto hosts 1-3 at bin 100; host 4 alone at bin 200. UDP senders start at
                // the instant and keep the 1 Gbit/s ToR ports full for several 10 ms bins (TCP through a
                // small shaped queue stalls on retransmission timeouts, which would move the event).
                var (id, start) = await StartCaptureAsync(services);
                var senders = rack.Senders.Select(s => new BurstSender(s.Namespace, 4_000_000)).ToList();
                long incastAt = start + 100 * BinNs + BinNs / 4;
                long loneAt = start + 200 * BinNs + BinNs / 4;
                await Task.WhenAll(
                    UdpBurst.RunAsync(senders, Target(rack, 0), incastAt),
                    UdpBurst.RunAsync(senders, Target(rack, 1), incastAt),
                    UdpBurst.RunAsync(senders, Target(rack, 2), incastAt),
                    UdpBurst.RunAsync([new BurstSender(rack.Senders[0].Namespace, 12_000_000)], Target(rack, 3), loneAt));
                using var capture = await WaitAnalysedAsync(services, id);
                // The lab runs secure: the capture names the engineer's certificate, and the CLI without one is refused.
                Assert.Equal("lab-engineer", capture.RootElement.GetProperty("requestedBy").GetString());
                var (refusedCode, _, refused) = await services.CliAsync(["racks"], CancellationToken.None, asEngineer: false);
                Assert.Equal(1, refusedCode);
                Assert.StartsWith("error: UNAUTHENTICATED:", refused, StringComparison.Ordinal);

                var events = capture.RootElement.GetProperty("analysis").GetProperty("events").EnumerateArray().ToList();
                foreach (var e in events)
                {
                    output.WriteLine(e.ToString());
                }

                var incast = events.Where(e => Bin(e, "startBin") is >= 99 and <= 101).ToList();
                Assert.Single(incast);
                Assert.Equal(["host-1", "host-2", "host-3"], Hosts(incast[0]));
                Assert.DoesNotContain(events, e => Hosts(e).Contains("host-4"));
                var bursts = capture.RootElement.GetProperty("analysis").GetProperty("bursts").EnumerateArray();
                Assert.Contains(bursts, b => b.GetProperty("host").GetString() == "host-4" && Bin(b, "startBin") is >= 199 and <= 201);

                // 2. A coordinator restart keeps stored captures.
                await services.StopCoordinatorAsync();
                services.StartCoordinator();
                using var again = await WaitAnalysedAsync(services, id);
                Assert.Equal(capture.RootElement.GetProperty("analysis").ToString(), again.RootElement.GetProperty("analysis").ToString());

                // 3. An agent stopped before a capture: the result is partial and names it.
                await services.WaitForRegistrationAsync(6, TimeSpan.FromSeconds(60), CancellationToken.None);
                await services.StopAgentAsync(5);
                var (partialId, _) = await StartCaptureAsync(services);
                using var partial = await WaitAnalysedAsync(services, partialId);
                var hosts = partial.RootElement.GetProperty("hosts").EnumerateArray().ToList();
                var missing = hosts.Single(h => h.GetProperty("host").GetString() == "host-6");
                output.WriteLine(missing.ToString());
                Assert.NotEqual("HOST_OUTCOME_COLLECTED", missing.GetProperty("outcome").GetString());
                Assert.False(string.IsNullOrWhiteSpace(missing.GetProperty("reason").GetString()));
                Assert.Equal(5, partial.RootElement.GetProperty("hostsCovered").GetInt32());
            }
            finally
            {
                foreach (var s in sinks)
                {
                    await s.DisposeAsync();
                }
            }
        }
        finally
        {
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static IPEndPoint Target(Rack rack, int host) => new(rack.Hosts[host].Address, SinkPort);

    private static int Bin(JsonElement e, string name) => e.TryGetProperty(name, out var v) ? v.GetInt32() : 0;

    private static List<string> Hosts(JsonElement e) => e.GetProperty("hosts").EnumerateArray().Select(h => h.GetString()!).Order().ToList();

    private static async Task<(string Id, long Start)> StartCaptureAsync(RackServices services)
    {
        var (code, json, err) = await services.CliAsync(["capture", "--rack", RackServices.RackName, "--interval", "10ms", "--samples", Bins.ToString(CultureInfo.InvariantCulture), "--lead", "1s", "--output", "json"], CancellationToken.None);
        Assert.True(code == 0, $"capture did not start: {err}");
        using var doc = JsonDocument.Parse(json);
        return (doc.RootElement.GetProperty("captureId").GetString()!, long.Parse(doc.RootElement.GetProperty("startTaiNs").GetString()!, CultureInfo.InvariantCulture));
    }

    private static async Task<JsonDocument> WaitAnalysedAsync(RackServices services, string id)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        string last = string.Empty;
        while (DateTime.UtcNow < deadline)
        {
            var (code, json, err) = await services.CliAsync(["captures", "show", id, "--output", "json"], CancellationToken.None);
            if (code == 0)
            {
                var doc = JsonDocument.Parse(json);
                string state = doc.RootElement.GetProperty("state").GetString()!;
                if (state == "CAPTURE_STATE_ANALYSED")
                {
                    return doc;
                }

                doc.Dispose();
                Assert.True(state != "CAPTURE_STATE_FAILED", $"capture {id} failed: {json}");
            }
            last = code == 0 ? json : err;
            await Task.Delay(500);
        }
        throw new TimeoutException($"capture {id} not analysed in time; last: {last}");
    }
}
