using System.Globalization;
using System.Net;
using System.Text.Json;
using Xunit.Abstractions;

namespace Millisampler.Lab.Tests.Observability;

/// <summary>
/// What an operator wires up on day one, against a rack in namespaces with real agents (real eBPF program) and a
/// real coordinator: a real Prometheus scraping both, and an OTLP receiver the services export traces to.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class RackObservabilityTests(ITestOutputHelper output)
{
    private const int Hosts = 3;
    private const int SinkPort = 9000;
    private const long BinNs = 10_000_000;
    private const int Bins = 300;
    private const int LeadSeconds = 8;
    private const long PortBitsPerSecond = 250_000_000;

    [Fact]
    public async Task Prometheus_AfterCapture_TargetsUpHostsHealthyContentionGaugeEqualsAnalysis()
    {
        await using var lab = await LabRack.StartAsync(output, _ => { });
        var services = lab.Services;
        var coordinator = new Uri(services.CoordinatorMetricsUrl);
        await using var prometheus = await PrometheusServer.StartAsync(lab.Rack.RouterNamespace,
        [
            new("millisampler-coordinator", [$"{coordinator.Host}:{coordinator.Port}"]),
            new("millisampler-agent", [.. lab.Rack.Hosts.Select(h => $"{h.Address}:{RackServices.AgentMetricsPort}")]),
        ], TimeSpan.FromSeconds(60));
        try
        {
            using var capture = await lab.CaptureWithTwoBusyHostsAsync();
            JsonElement analysis = capture.RootElement.GetProperty("analysis");
            uint[] contention = [.. analysis.GetProperty("contention").EnumerateArray().Select(c => c.GetUInt32())];
            int bursts = analysis.TryGetProperty("bursts", out var b) ? b.GetArrayLength() : 0;
            int events = analysis.TryGetProperty("events", out var e) ? e.GetArrayLength() : 0;
            output.WriteLine($"analysis: max contention {contention.Max()}, {bursts} bursts, {events} events");
            Assert.True(contention.Max() >= 2, $"two hosts with full ports should burst together; analysis: {analysis}");

            // Every target up: polled until Prometheus has scraped each once.
            await WaitTargetsUpAsync(prometheus, expected: 1 + Hosts);
            var up = await prometheus.QueryAsync("up");
            Assert.Equal(1 + Hosts, up.Count);
            Assert.All(up, s => Assert.Equal(1, s.Value));

            const string Rack = $"rack=\"{RackServices.RackName}\"";
            var healthy = await prometheus.QueryUntilPresentAsync($"millisampler_coordinator_hosts{{{Rack},health=\"healthy\"}}", TimeSpan.FromSeconds(30));
            Assert.Equal(Hosts, Assert.Single(healthy).Value);

            string width = $"bin_width=\"{BinNs / 1_000_000}ms\"";
            var max = await prometheus.QueryUntilPresentAsync($"millisampler_coordinator_rack_contention_max{{{Rack},{width}}}", TimeSpan.FromSeconds(30));
            Assert.Equal(contention.Max(), Assert.Single(max).Value);
            Assert.Equal(bursts, Assert.Single(await prometheus.QueryAsync($"millisampler_coordinator_rack_bursts{{{Rack},{width}}}")).Value);
            Assert.Equal(events, Assert.Single(await prometheus.QueryAsync($"millisampler_coordinator_rack_sync_events{{{Rack},{width}}}")).Value);

            // The documented alert finds the rack; every agent's program is on both hooks.
            var alert = await prometheus.QueryAsync($"max by (rack) (millisampler_coordinator_rack_contention_max{{{width}}}) >= 2");
            Assert.Equal(RackServices.RackName, Assert.Single(alert).Labels["rack"]);
            var attached = await prometheus.QueryUntilPresentAsync("millisampler_agent_program_attached", TimeSpan.FromSeconds(30));
            Assert.Equal(Hosts * 2, attached.Count(s => s.Value == 1));
        }
        catch
        {
            output.WriteLine("prometheus log:\n" + prometheus.Tail());
            throw;
        }
    }

    private static async Task WaitTargetsUpAsync(PrometheusServer prometheus, int expected)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        string last = "";
        while (DateTime.UtcNow < deadline)
        {
            var targets = (await prometheus.ApiAsync("/api/v1/targets")).GetProperty("activeTargets").EnumerateArray().ToList();
            last = string.Join("; ", targets.Select(t => $"{t.GetProperty("scrapeUrl").GetString()} {t.GetProperty("health").GetString()} {t.GetProperty("lastError").GetString()}"));
            if (targets.Count == expected && targets.All(t => t.GetProperty("health").GetString() == "up"))
            {
                return;
            }

            await Task.Delay(250);
        }

        throw new TimeoutException($"not every target up within 60 s: {last}");
    }

    [Fact]
    public async Task Otlp_OneCapture_CoordinatorCaptureSpanAndEveryAgentsRunSpanShareOneTrace()
    {
        OtlpTraceReceiver? receiver = null;
        await using var lab = await LabRack.StartAsync(output, services =>
        {
            // The receiver listens on the router's rack address, where the agents reach the coordinator too.
            receiver = OtlpTraceReceiver.StartAsync(services.Rack.RouterNamespace, AddressPlan.RackGateway).GetAwaiter().GetResult();
            services.Environment["OTEL_EXPORTER_OTLP_ENDPOINT"] = receiver.Endpoint;
            services.Environment["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf";
            services.Environment["OTEL_BSP_SCHEDULE_DELAY"] = "200";
        });
        await using var received = receiver!;
        using var capture = await lab.CaptureWithTwoBusyHostsAsync();
        string id = capture.RootElement.GetProperty("captureId").GetString()!;

        // Spans arrive in batches: poll until the capture's span and one run span per host are in.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        ReceivedSpan? captureSpan = null;
        List<ReceivedSpan> runs = [];
        while (DateTime.UtcNow < deadline)
        {
            var spans = received.Spans;
            captureSpan = spans.FirstOrDefault(s => s.Name == "Capture" && s.Attributes.GetValueOrDefault("millisampler.capture_id") == id);
            runs = [.. spans.Where(s => s.Name == "millisampler.agent.run" && captureSpan is not null && s.TraceId == captureSpan.TraceId)];
            if (captureSpan is not null && runs.Select(r => r.From).Distinct().Count() == Hosts)
            {
                break;
            }

            await Task.Delay(250);
        }

        foreach (var s in received.Spans.Where(s => s.Name is "Capture" or "millisampler.agent.run"))
        {
            output.WriteLine($"{s.From} {s.Service} {s.Name} trace {s.TraceId} span {s.SpanId} parent {s.ParentSpanId}");
        }

        Assert.True(captureSpan is not null, $"no Capture span for {id} among {received.Spans.Count} spans in {received.Requests} requests");
        Assert.Equal("millisampler-coordinator", captureSpan.Service);
        Assert.Equal(AddressPlan.RackGateway, captureSpan.From);
        Assert.Equal(RackServices.RackName, captureSpan.Attributes["millisampler.rack"]);
        // One run span from each host's agent (told apart by the address it sent from), all in the capture's trace.
        Assert.Equal(lab.Rack.Hosts.Select(h => h.Address.ToString()).Order(), runs.Select(r => r.From.ToString()).Distinct().Order());
        Assert.All(runs, r => Assert.Equal("millisampler-agent", r.Service));
        Assert.All(runs, r => Assert.NotEqual("", r.ParentSpanId));
    }

    /// <summary>A three-host rack (250 Mbit/s ToR ports), its agents and coordinator, registered, with TCP sinks on every host.</summary>
    private sealed class LabRack : IAsyncDisposable
    {
        private readonly ITestOutputHelper _output;
        private readonly string _work;
        private readonly List<TcpSink> _sinks = [];

        private LabRack(Rack rack, RackServices services, string work, ITestOutputHelper output)
        {
            Rack = rack;
            Services = services;
            _work = work;
            _output = output;
        }

        public Rack Rack { get; }
        public RackServices Services { get; }

        public static async Task<LabRack> StartAsync(ITestOutputHelper output, Action<RackServices> beforeStart)
        {
            string work = Path.Combine(Path.GetTempPath(), $"ms-obs-{Environment.ProcessId}-{Guid.NewGuid():N}");
            var ports = new TbfOptions(PortBitsPerSecond, 32 * 1024, LimitBytes: 8 * 1024 * 1024);
            var rack = await RackTopology.Create().WithHosts(Hosts).WithSenders(Hosts).WithTorShaping(ports).BuildAsync();
            RackServices? services = null;
            try
            {
                services = RackServices.Create(rack, ServiceBinaries.Locate(), work);
                var lab = new LabRack(rack, services, work, output);
                beforeStart(services);
                services.StartCoordinator();
                services.StartAgents(PortBitsPerSecond);
                await services.WaitForRegistrationAsync(Hosts, TimeSpan.FromSeconds(90), CancellationToken.None);
                lab._sinks.AddRange(rack.Hosts.Select(h => TcpSink.Start(h.Namespace, new IPEndPoint(h.Address, SinkPort))));
                return lab;
            }
            catch
            {
                if (services is not null)
                {
                    await services.DisposeAsync();
                }

                await rack.DisposeAsync();
                TryDelete(work);
                throw;
            }
        }

        /// <summary>
        /// A 10 ms × 300-bin capture while the first two hosts' ports are full; returns it once analysed with every host
        /// collected. The lead is 8 s: the agents' first ScheduleRun runs cold (JIT) on a busy machine.
        /// </summary>
        public async Task<JsonDocument> CaptureWithTwoBusyHostsAsync()
        {
            var (code, json, err) = await Services.CliAsync(["capture", "--rack", RackServices.RackName, "--interval", "10ms", "--samples", Bins.ToString(CultureInfo.InvariantCulture), "--lead", $"{LeadSeconds}s", "--output", "json"], CancellationToken.None);
            Assert.True(code == 0, $"capture did not start: {err}");
            string id;
            using (var doc = JsonDocument.Parse(json))
            {
                id = doc.RootElement.GetProperty("captureId").GetString()!;
            }

            // Bulk TCP onto the first two hosts from before the start instant until after the last bin: both ports stay
            // full the whole capture, so both hosts burst together whenever this busy machine wakes the senders.
            var duration = TimeSpan.FromSeconds(LeadSeconds + 2) + TimeSpan.FromTicks(Bins * BinNs / 100);
            var sent = await Task.WhenAll(Enumerable.Range(0, 2).Select(i => TcpBulkSender.RunAsync(new TcpBulkOptions
            {
                Namespace = Rack.Senders[i].Namespace,
                Target = new IPEndPoint(Rack.Hosts[i].Address, SinkPort),
                Connections = 2,
                Duration = duration,
                Timeout = duration + TimeSpan.FromSeconds(30),
            })));
            _output.WriteLine($"bulk TCP: {string.Join(", ", sent.Select(r => $"{r.GoodputBitsPerSecond / 1e6:F0} Mbit/s over {r.Elapsed.TotalSeconds:F1} s"))}");

            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
            string last = "";
            while (DateTime.UtcNow < deadline)
            {
                var (c, shown, e) = await Services.CliAsync(["captures", "show", id, "--output", "json"], CancellationToken.None);
                if (c == 0)
                {
                    var doc = JsonDocument.Parse(shown);
                    string state = doc.RootElement.GetProperty("state").GetString()!;
                    if (state == "CAPTURE_STATE_ANALYSED")
                    {
                        Assert.True(doc.RootElement.GetProperty("hostsCovered").GetInt32() == Hosts, $"capture {id} lacks hosts: {shown}");
                        return doc;
                    }

                    doc.Dispose();
                    Assert.True(state != "CAPTURE_STATE_FAILED", $"capture {id} failed: {shown}");
                }

                last = c == 0 ? shown : e;
                await Task.Delay(500);
            }

            throw new TimeoutException($"capture {id} not analysed in time; last: {last}");
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var s in _sinks)
            {
                await s.DisposeAsync();
            }

            await Services.DisposeAsync();
            await Rack.DisposeAsync();
            TryDelete(_work);
            _output.WriteLine("rack removed");
        }

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
}
