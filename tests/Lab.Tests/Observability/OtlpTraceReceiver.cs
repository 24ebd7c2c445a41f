using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Google.Protobuf;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Millisampler.Lab.Tests.Observability;

/// <summary>One span as an OTLP exporter sent it, with the address it came from.</summary>
internal sealed record ReceivedSpan(IPAddress From, string Service, string Name, string TraceId, string SpanId, string ParentSpanId,
    IReadOnlyDictionary<string, string> Attributes);

/// <summary>
/// An OTLP/HTTP receiver (protobuf, <c>POST /v1/traces</c>; metrics and logs are accepted and dropped) on Kestrel,
/// listening on a socket bound inside a lab namespace, so the services there reach it at <see cref="Endpoint"/>.
/// Decodes the few fields of <c>ExportTraceServiceRequest</c> the tests read, by field number (opentelemetry-proto
/// trace/v1/trace.proto, common/v1/common.proto).
/// </summary>
internal sealed partial class OtlpTraceReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<ReceivedSpan> _spans = new();

    private OtlpTraceReceiver(WebApplication app, string endpoint)
    {
        _app = app;
        Endpoint = endpoint;
    }

    /// <summary>The value for OTEL_EXPORTER_OTLP_ENDPOINT (with OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf).</summary>
    public string Endpoint { get; }

    public IReadOnlyList<ReceivedSpan> Spans => [.. _spans];

    public int Requests { get; private set; }

    [LibraryImport("libc", EntryPoint = "dup", SetLastError = true)]
    private static partial int Dup(int fd);

    /// <summary>Starts listening on <paramref name="address"/> (port chosen by the kernel) inside <paramref name="ns"/>.</summary>
    public static async Task<OtlpTraceReceiver> StartAsync(string ns, IPAddress address)
    {
        int fd;
        int port;
        using (var socket = NetNs.Run(ns, () =>
        {
            var s = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            s.Bind(new IPEndPoint(address, 0));
            s.Listen();
            return s;
        }))
        {
            port = ((IPEndPoint)socket.LocalEndPoint!).Port;
            // Kestrel takes ownership of the descriptor it is given; it gets its own copy.
            fd = Dup((int)socket.Handle);
            if (fd < 0)
            {
                throw new InvalidOperationException($"dup failed: errno {Marshal.GetLastPInvokeError()}");
            }
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenHandle((ulong)fd));
        var app = builder.Build();
        var receiver = new OtlpTraceReceiver(app, $"http://{address}:{port}");
        app.MapPost("/v1/traces", (Delegate)receiver.TracesAsync);
        app.MapPost("/v1/metrics", (Delegate)receiver.Drop);
        app.MapPost("/v1/logs", (Delegate)receiver.Drop);
        await app.StartAsync();
        return receiver;
    }

    private IResult Drop() => Results.Bytes([], "application/x-protobuf");

    private async Task<IResult> TracesAsync(HttpContext context)
    {
        using var body = new MemoryStream();
        await context.Request.Body.CopyToAsync(body);
        IPAddress from = context.Connection.RemoteIpAddress ?? IPAddress.None;
        if (from.IsIPv4MappedToIPv6)
        {
            from = from.MapToIPv4();
        }

        foreach (var span in Decode(body.ToArray(), from))
        {
            _spans.Enqueue(span);
        }

        Requests++;
        // An empty ExportTraceServiceResponse: full success.
        return Results.Bytes([], "application/x-protobuf");
    }

    /// <summary>ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }</summary>
    internal static List<ReceivedSpan> Decode(byte[] request, IPAddress from)
    {
        var spans = new List<ReceivedSpan>();
        foreach (var resourceSpans in Fields(request).Where(f => f.Number == 1))
        {
            // ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; }
            var parts = Fields(resourceSpans.Bytes).ToList();
            string service = "";
            foreach (var resource in parts.Where(f => f.Number == 1))
            {
                // Resource { repeated KeyValue attributes = 1; }
                var attributes = Attributes(Fields(resource.Bytes).Where(f => f.Number == 1));
                service = attributes.GetValueOrDefault("service.name", "");
            }

            foreach (var scopeSpans in parts.Where(f => f.Number == 2))
            {
                // ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; }
                foreach (var span in Fields(scopeSpans.Bytes).Where(f => f.Number == 2))
                {
                    // Span { bytes trace_id = 1; bytes span_id = 2; bytes parent_span_id = 4; string name = 5; repeated KeyValue attributes = 9; }
                    var s = Fields(span.Bytes).ToList();
                    string Hex(int n) => Convert.ToHexStringLower(s.FirstOrDefault(f => f.Number == n).Bytes ?? []);
                    string name = s.Where(f => f.Number == 5).Select(f => System.Text.Encoding.UTF8.GetString(f.Bytes)).FirstOrDefault() ?? "";
                    spans.Add(new ReceivedSpan(from, service, name, Hex(1), Hex(2), Hex(4), Attributes(s.Where(f => f.Number == 9))));
                }
            }
        }

        return spans;
    }

    /// <summary>KeyValue { string key = 1; AnyValue value = 2; } with AnyValue { string string_value = 1; int64 int_value = 3; }; other kinds are left out.</summary>
    private static Dictionary<string, string> Attributes(IEnumerable<(int Number, byte[] Bytes)> keyValues)
    {
        var result = new Dictionary<string, string>();
        foreach (var kv in keyValues)
        {
            var f = Fields(kv.Bytes).ToList();
            string key = f.Where(x => x.Number == 1).Select(x => System.Text.Encoding.UTF8.GetString(x.Bytes)).FirstOrDefault() ?? "";
            foreach (var value in f.Where(x => x.Number == 2))
            {
                var input = new CodedInputStream(value.Bytes);
                uint tag;
                while ((tag = input.ReadTag()) != 0)
                {
                    switch (WireFormat.GetTagFieldNumber(tag))
                    {
                        case 1 when WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited:
                            result[key] = input.ReadString();
                            break;
                        case 3 when WireFormat.GetTagWireType(tag) == WireFormat.WireType.Varint:
                            result[key] = input.ReadInt64().ToString(System.Globalization.CultureInfo.InvariantCulture);
                            break;
                        default:
                            input.SkipLastField();
                            break;
                    }
                }
            }
        }

        return result;
    }

    /// <summary>The length-delimited fields of a message (nested messages, strings, bytes), in order; other wire types skipped.</summary>
    private static IEnumerable<(int Number, byte[] Bytes)> Fields(byte[] message)
    {
        var input = new CodedInputStream(message);
        var fields = new List<(int, byte[])>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            if (WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
            {
                fields.Add((WireFormat.GetTagFieldNumber(tag), input.ReadBytes().ToByteArray()));
            }
            else
            {
                input.SkipLastField();
            }
        }

        return fields;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
