using System.Diagnostics;
using System.Text.Json;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Millisampler.Coordinator.Agents;
using Millisampler.Coordinator.Alerts;

namespace Millisampler.Coordinator.Api;

internal static partial class JsonApi
{
    /// <summary>Path of the Alertmanager webhook (docs/alerts.md).</summary>
    public const string AlertmanagerPath = "/api/alerts/alertmanager";

    private static readonly JsonSerializerOptions AlertJson = new(JsonSerializerDefaults.Web);

    /// <summary>
    /// <c>POST /api/alerts/alertmanager</c>: Alertmanager's webhook (payload version 4), role operator. Answers 200 with
    /// what happened to each alert; a delivery it cannot take is a 4xx naming the field (Alertmanager does not retry 4xx).
    /// </summary>
    public static IEndpointRouteBuilder MapAlertJsonApi(this IEndpointRouteBuilder app)
    {
        app.MapPost(AlertmanagerPath, async (HttpContext http, AlertReceiver receiver, IOptions<AlertOptions> options, ILoggerFactory logs) =>
        {
            AlertOptions o = options.Value;
            try
            {
                if (!o.Enabled)
                {
                    throw new RpcException(new Status(StatusCode.NotFound, "the Alertmanager webhook is off (Coordinator:Alerts:Enabled=false)"));
                }

                if (!http.Request.HasJsonContentType())
                {
                    throw new UnsupportedMediaTypeException(
                        $"content-type: '{http.Request.ContentType}' is not accepted; Alertmanager sends application/json");
                }

                byte[] body = await ReadLimitedAsync(http, o.MaxBodyBytes).ConfigureAwait(false);
                if (body.Length == 0)
                {
                    throw new AlertPayloadException("body", "required: an Alertmanager webhook payload (version 4) in JSON");
                }

                AlertmanagerPayload payload = AlertmanagerPayload.Parse(body, o.MaxAlerts);
                AlertDeliveryResult result = await receiver.ReceiveAsync(payload, Security.CoordinatorAuthentication.NameOf(http.User),
                    http.RequestAborted).ConfigureAwait(false);
                http.Response.ContentType = "application/json; charset=utf-8";
                await JsonSerializer.SerializeAsync(http.Response.Body, result, AlertJson, http.RequestAborted).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
            {
            }
            catch (Exception ex) when (!http.Response.HasStarted)
            {
                Exception answer = ex is AlertPayloadException bad ? Invalid(bad.Message) : ex;
                string reason = ex switch
                {
                    AlertPayloadException => "bad_payload",
                    UnsupportedMediaTypeException => "media_type",
                    PayloadTooLargeException => "too_large",
                    RpcException rpc => StatusText.Name(rpc.StatusCode).ToLowerInvariant(),
                    _ => "internal",
                };
                Observability.AlertDeliveriesRejected.Add(1, new TagList { { "reason", reason } });
                LogAlertDeliveryRefused(logs.CreateLogger(typeof(JsonApi).FullName!), CallerIdentity.Of(http), answer.Message);
                await WriteErrorAsync(http, answer, logs).ConfigureAwait(false);
            }
        }).RequireAuthorization(Security.Policies.Operator);
        return app;
    }

    /// <summary>The body, at most <paramref name="maxBytes"/>; more → <see cref="PayloadTooLargeException"/> (413) without reading on.</summary>
    private static async Task<byte[]> ReadLimitedAsync(HttpContext http, int maxBytes)
    {
        if (http.Request.ContentLength is long declared && declared > maxBytes)
        {
            throw new PayloadTooLargeException($"body: {declared} bytes; at most {maxBytes} (Coordinator:Alerts:MaxBodyBytes)");
        }

        using var buffer = new MemoryStream();
        byte[] chunk = new byte[16 * 1024];
        int read;
        while ((read = await http.Request.Body.ReadAsync(chunk, http.RequestAborted).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > maxBytes)
            {
                throw new PayloadTooLargeException($"body: more than {maxBytes} bytes (Coordinator:Alerts:MaxBodyBytes)");
            }

            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    /// <summary>A body over the limit: 413.</summary>
    private sealed class PayloadTooLargeException(string message) : Exception(message);
}
