using System.Globalization;
using System.Text;
using Google.Protobuf;
using Grpc.Core;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Agents;
using Millisampler.Coordinator.Captures;
using Millisampler.Coordinator.Membership;

namespace Millisampler.Coordinator.Api;

/// <summary>
/// The CoordinatorService as JSON over HTTP, for curl. Bodies and responses are the protobuf messages in the
/// protobuf JSON mapping (lowerCamelCase names, enums by name, 64-bit integers as strings); errors are
/// <c>{"code": "INVALID_ARGUMENT", "message": "..."}</c> with the same message as over gRPC and the HTTP status of
/// the gRPC code (google.rpc mapping).
/// </summary>
internal static partial class JsonApi
{
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default);

    public static IEndpointRouteBuilder MapCoordinatorJsonApi(this IEndpointRouteBuilder app)
    {
        RouteGroupBuilder api = app.MapGroup("/api");
        api.RequireAuthorization(Security.Policies.Viewer);

        api.MapGet("/racks", (HttpContext http, MembershipRegistry registry) =>
            Handle(http, () => Task.FromResult<IMessage>(registry.ListRacks())));

        api.MapPost("/captures", (HttpContext http, CaptureService captures, CaptureRateLimiter limiter) => Handle(http, async () =>
        {
            StartCaptureRequest request = await ReadBodyAsync<StartCaptureRequest>(http).ConfigureAwait(false);
            limiter.Acquire(CallerIdentity.Of(http), request.Rack);
            Capture capture = await captures.StartCaptureAsync(request, http.RequestAborted,
                Security.CoordinatorAuthentication.NameOf(http.User)).ConfigureAwait(false);
            http.Response.StatusCode = StatusCodes.Status202Accepted;
            http.Response.Headers.Location = $"/api/captures/{capture.CaptureId}";
            return capture;
        })).RequireAuthorization(Security.Policies.Operator);

        api.MapGet("/captures", (HttpContext http, CaptureService captures) => Handle(http, async () =>
        {
            IQueryCollection q = http.Request.Query;
            var request = new ListCapturesRequest
            {
                Rack = q["rack"].ToString(),
                FromUnixNs = ParseTime(q, "from"),
                ToUnixNs = ParseTime(q, "to"),
                Limit = ParseUInt(q, "limit"),
            };
            return await captures.ListCapturesAsync(request, http.RequestAborted).ConfigureAwait(false);
        }));

        api.MapGet("/triggers", (HttpContext http, Triggers.TriggerGate triggers) => Handle(http, async () =>
        {
            IQueryCollection q = http.Request.Query;
            var request = new ListTriggersRequest { Rack = q["rack"].ToString(), FromUnixNs = ParseTime(q, "from"), Limit = ParseUInt(q, "limit") };
            return await triggers.ListAsync(request, http.RequestAborted).ConfigureAwait(false);
        }));

        api.MapGet("/triggers/policy", (HttpContext http, Triggers.TriggerGate triggers) =>
            Handle(http, () => Task.FromResult<IMessage>(triggers.Policy())));

        api.MapGet("/captures/{id}", (HttpContext http, string id, CaptureService captures) =>
            Handle(http, async () => await captures.GetCaptureAsync(id, http.RequestAborted).ConfigureAwait(false)));

        api.MapGet("/captures/{id}/series", (HttpContext http, string id, CaptureService captures) => Handle(http, async () =>
        {
            var request = new GetCaptureSeriesRequest { CaptureId = id };
            request.Hosts.AddRange(http.Request.Query["host"].Where(h => !string.IsNullOrEmpty(h)).Select(h => h!));
            return await captures.GetCaptureSeriesAsync(request, http.RequestAborted).ConfigureAwait(false);
        }));

        // The capture page's data (src/Web): the capture and every host's series on its bins, one JSON document.
        api.MapGet("/captures/{id}/view", async (HttpContext http, string id, CaptureService captures, ILoggerFactory logs) =>
        {
            try
            {
                Capture capture = await captures.GetCaptureAsync(id, http.RequestAborted).ConfigureAwait(false);
                GetCaptureSeriesResponse series = await captures.GetCaptureSeriesAsync(new GetCaptureSeriesRequest { CaptureId = id }, http.RequestAborted)
                    .ConfigureAwait(false);
                using var body = new MemoryStream();
                Millisampler.Web.Views.CaptureViewJson.Write(body, capture, Millisampler.Web.Views.CaptureViewJson.FilesOf(series.Runs));
                http.Response.ContentType = "application/json";
                await http.Response.Body.WriteAsync(body.GetBuffer().AsMemory(0, (int)body.Length), http.RequestAborted).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
            {
            }
            catch (Exception ex) when (!http.Response.HasStarted)
            {
                await WriteErrorAsync(http, ex, logs).ConfigureAwait(false);
            }
        });

        // The read-only web UI: a static page and the bundle; the page reads the endpoints above.
        RouteGroupBuilder ui = app.MapGroup("/ui");
        ui.RequireAuthorization(Security.Policies.Viewer);
        ui.MapGet("/", (HttpContext http) =>
        {
            UiHeaders(http);
            return Results.Content(Millisampler.Web.WebAssets.IndexHtml, "text/html; charset=utf-8");
        });
        ui.MapGet("/millisampler-ui.js", (HttpContext http) =>
        {
            UiHeaders(http);
            return Results.Bytes(Millisampler.Web.WebAssets.Script, "text/javascript; charset=utf-8");
        });

        // Newline-delimited JSON, one CaptureProgress per change, until the capture is analysed or failed.
        api.MapGet("/captures/{id}/progress", async (HttpContext http, string id, CaptureService captures, ILoggerFactory logs) =>
        {
            try
            {
                await captures.WatchCaptureAsync(id, async p =>
                {
                    if (!http.Response.HasStarted)
                    {
                        http.Response.ContentType = "application/x-ndjson";
                    }

                    await http.Response.WriteAsync(Formatter.Format(p) + "\n", http.RequestAborted).ConfigureAwait(false);
                    await http.Response.Body.FlushAsync(http.RequestAborted).ConfigureAwait(false);
                }, http.RequestAborted).ConfigureAwait(false);
            }
            catch (Exception ex) when (!http.Response.HasStarted && ex is not OperationCanceledException)
            {
                await WriteErrorAsync(http, ex, logs).ConfigureAwait(false);
            }
        });

        return app;
    }

    private static void UiHeaders(HttpContext http)
    {
        http.Response.Headers.ContentSecurityPolicy =
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'";
        http.Response.Headers.XContentTypeOptions = "nosniff";
    }

    /// <summary>HTTP status for a gRPC status code, as google.rpc.Code documents it.</summary>
    public static int HttpStatus(StatusCode code) => code switch
    {
        StatusCode.OK => StatusCodes.Status200OK,
        StatusCode.InvalidArgument or StatusCode.FailedPrecondition or StatusCode.OutOfRange => StatusCodes.Status400BadRequest,
        StatusCode.Unauthenticated => StatusCodes.Status401Unauthorized,
        StatusCode.PermissionDenied => StatusCodes.Status403Forbidden,
        StatusCode.NotFound => StatusCodes.Status404NotFound,
        StatusCode.AlreadyExists or StatusCode.Aborted => StatusCodes.Status409Conflict,
        StatusCode.ResourceExhausted => StatusCodes.Status429TooManyRequests,
        StatusCode.Cancelled => 499,
        StatusCode.Unimplemented => StatusCodes.Status501NotImplemented,
        StatusCode.Unavailable => StatusCodes.Status503ServiceUnavailable,
        StatusCode.DeadlineExceeded => StatusCodes.Status504GatewayTimeout,
        _ => StatusCodes.Status500InternalServerError,
    };

    private static async Task Handle(HttpContext http, Func<Task<IMessage>> action)
    {
        IMessage result;
        try
        {
            result = await action().ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            return;
        }
        catch (Exception ex)
        {
            await WriteErrorAsync(http, ex, http.RequestServices.GetRequiredService<ILoggerFactory>()).ConfigureAwait(false);
            return;
        }

        http.Response.ContentType = "application/json; charset=utf-8";
        await http.Response.WriteAsync(Formatter.Format(result), Encoding.UTF8, http.RequestAborted).ConfigureAwait(false);
    }

    private static Task WriteErrorAsync(HttpContext http, Exception ex, ILoggerFactory logs)
    {
        Status status;
        if (ex is UnsupportedMediaTypeException media)
        {
            http.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
            return http.Response.WriteAsJsonAsync(new ApiError(StatusText.Name(StatusCode.InvalidArgument), media.Message), http.RequestAborted);
        }

        if (ex is PayloadTooLargeException large)
        {
            http.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
            return http.Response.WriteAsJsonAsync(new ApiError(StatusText.Name(StatusCode.InvalidArgument), large.Message), http.RequestAborted);
        }

        if (ex is RpcException rpc)
        {
            status = rpc.Status;
            if (rpc.Trailers.GetValue(CaptureRateLimiter.RetryAfterKey) is { } retryAfter)
            {
                http.Response.Headers.RetryAfter = retryAfter;
            }
        }
        else
        {
            LogUnhandled(logs.CreateLogger(typeof(JsonApi).FullName!), ex, http.Request.Method, http.Request.Path);
            status = new Status(StatusCode.Internal, $"internal error: {ex.Message}");
        }

        http.Response.StatusCode = HttpStatus(status.StatusCode);
        string detail = http.Items.TryGetValue(typeof(JsonFieldNames), out object? names) && names is JsonFieldNames n
            ? n.Rename(status.Detail)
            : status.Detail;
        return http.Response.WriteAsJsonAsync(new ApiError(StatusText.Name(status.StatusCode), detail), http.RequestAborted);
    }

    private static async Task<T> ReadBodyAsync<T>(HttpContext http) where T : IMessage, new()
    {
        // Only JSON: a browser may send text/plain or a form to another origin without asking (no CORS preflight),
        // so accepting those would let any web page on the management network start captures.
        if (!http.Request.HasJsonContentType())
        {
            throw new UnsupportedMediaTypeException(
                $"content-type: '{http.Request.ContentType}' is not accepted; send the body as application/json");
        }

        using var reader = new StreamReader(http.Request.Body, Encoding.UTF8);
        string body = await reader.ReadToEndAsync(http.RequestAborted).ConfigureAwait(false);
        if (string.IsNullOrWhiteSpace(body))
        {
            throw Invalid("body: required; send the request as JSON, e.g. {\"rack\":\"r1\",\"binWidthNs\":\"1000000\",\"bins\":2000}");
        }

        try
        {
            T message = Parser.Parse<T>(body);
            http.Items[typeof(JsonFieldNames)] = JsonFieldNames.FromBody(body, message.Descriptor);
            return message;
        }
        catch (Exception ex) when (ex is InvalidProtocolBufferException or InvalidJsonException or FormatException)
        {
            string? field = JsonFieldNames.FirstBadField<T>(body, Parser);
            throw Invalid(field is null
                ? $"body: not a valid {typeof(T).Name} in JSON: {ex.Message}"
                : $"{field}: {ex.Message}");
        }
    }

    /// <summary>A query time: unix nanoseconds, or an RFC 3339 / ISO 8601 time; 0 when absent.</summary>
    private static long ParseTime(IQueryCollection q, string name)
    {
        string? text = q[name].ToString();
        if (string.IsNullOrEmpty(text))
        {
            return 0;
        }

        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long ns))
        {
            return ns;
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out DateTimeOffset t))
        {
            return TimeNs.FromUnix(t);
        }

        throw Invalid($"{name}: '{text}' is neither unix nanoseconds nor a time like 2025-01-31T12:00:00Z");
    }

    private static uint ParseUInt(IQueryCollection q, string name)
    {
        string? text = q[name].ToString();
        if (string.IsNullOrEmpty(text))
        {
            return 0;
        }

        return uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out uint v)
            ? v
            : throw Invalid($"{name}: '{text}' is not a non-negative integer");
    }

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));

    /// <summary>A body that is not JSON: 415.</summary>
    private sealed class UnsupportedMediaTypeException(string message) : Exception(message);

    /// <summary>Error body of the JSON API.</summary>
    /// <param name="Code">gRPC status code name, e.g. INVALID_ARGUMENT.</param>
    /// <param name="Message">What went wrong, as a person can act on it.</param>
    internal sealed record ApiError(string Code, string Message);
}
