using Google.Protobuf;
using Millisampler.Contracts.V1;
using SweepApp = Millisampler.Coordinator.Sweeps.SweepService;

namespace Millisampler.Coordinator.Api;

internal static partial class JsonApi
{
    /// <summary>/api/sweeps: the SweepService in JSON.</summary>
    public static IEndpointRouteBuilder MapSweepJsonApi(this IEndpointRouteBuilder app)
    {
        RouteGroupBuilder api = app.MapGroup("/api/sweeps");
        api.RequireAuthorization(Security.Policies.Viewer);

        api.MapPost("", (HttpContext http, SweepApp sweeps) => Handle(http, async () =>
        {
            SweepDefinition definition = await ReadBodyAsync<SweepDefinition>(http).ConfigureAwait(false);
            Sweep sweep = await sweeps.CreateAsync(new CreateSweepRequest { Definition = definition }, http.User.Identity?.Name ?? "",
                http.RequestAborted).ConfigureAwait(false);
            http.Response.StatusCode = StatusCodes.Status201Created;
            http.Response.Headers.Location = $"/api/sweeps/{sweep.Definition.Name}";
            return sweep;
        })).RequireAuthorization(Security.Policies.Admin);

        api.MapGet("", (HttpContext http, SweepApp sweeps) =>
            Handle(http, async () => await sweeps.ListAsync(http.RequestAborted).ConfigureAwait(false)));

        api.MapGet("/report", (HttpContext http, SweepApp sweeps) => Handle(http, async () =>
        {
            IQueryCollection q = http.Request.Query;
            string bucket = q["bucket"].ToString();
            var request = new SweepReportRequest
            {
                Sweep = q["sweep"].ToString(),
                Rack = q["rack"].ToString(),
                BinWidthNs = (long)ParseUInt(q, "binWidthNs"),
                FromUnixNs = ParseTime(q, "from"),
                ToUnixNs = ParseTime(q, "to"),
                Top = ParseUInt(q, "top"),
                Bucket = bucket switch
                {
                    "" or "day" => TrendBucket.Day,
                    "hour" => TrendBucket.Hour,
                    _ => throw Invalid($"bucket: '{bucket}' is not hour or day"),
                },
            };
            return await sweeps.ReportAsync(request, http.RequestAborted).ConfigureAwait(false);
        }));

        api.MapGet("/{name}", (HttpContext http, string name, SweepApp sweeps) =>
            Handle(http, async () => await sweeps.GetAsync(name, http.RequestAborted).ConfigureAwait(false)));

        api.MapPost("/{name}/pause", (HttpContext http, string name, SweepApp sweeps) =>
            Handle(http, async () => await sweeps.SetPausedAsync(name, paused: true, http.RequestAborted).ConfigureAwait(false)))
            .RequireAuthorization(Security.Policies.Admin);

        api.MapPost("/{name}/resume", (HttpContext http, string name, SweepApp sweeps) =>
            Handle(http, async () => await sweeps.SetPausedAsync(name, paused: false, http.RequestAborted).ConfigureAwait(false)))
            .RequireAuthorization(Security.Policies.Admin);

        api.MapDelete("/{name}", (HttpContext http, string name, SweepApp sweeps) => Handle(http, async () =>
        {
            await sweeps.DeleteAsync(name, http.RequestAborted).ConfigureAwait(false);
            return (IMessage)new DeleteSweepResponse();
        })).RequireAuthorization(Security.Policies.Admin);

        return app;
    }
}
