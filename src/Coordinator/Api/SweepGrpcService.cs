using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Security;
using Millisampler.Coordinator.Sweeps;
using SweepApp = Millisampler.Coordinator.Sweeps.SweepService;

namespace Millisampler.Coordinator.Api;

/// <summary>SweepService over gRPC; every call goes to the same application service as the JSON API. Viewers read; changing a sweep is for admins.</summary>
[Authorize(Policy = Policies.Viewer)]
internal sealed class SweepGrpcService(SweepApp sweeps) : Contracts.V1.SweepService.SweepServiceBase
{
    [Authorize(Policy = Policies.Admin)]
    public override Task<Sweep> CreateSweep(CreateSweepRequest request, ServerCallContext context) =>
        sweeps.CreateAsync(request, Requester(context), context.CancellationToken);

    public override Task<ListSweepsResponse> ListSweeps(ListSweepsRequest request, ServerCallContext context) =>
        sweeps.ListAsync(context.CancellationToken);

    public override Task<Sweep> GetSweep(SweepName request, ServerCallContext context) =>
        sweeps.GetAsync(request.Name, context.CancellationToken);

    [Authorize(Policy = Policies.Admin)]
    public override Task<Sweep> PauseSweep(SweepName request, ServerCallContext context) =>
        sweeps.SetPausedAsync(request.Name, paused: true, context.CancellationToken);

    [Authorize(Policy = Policies.Admin)]
    public override Task<Sweep> ResumeSweep(SweepName request, ServerCallContext context) =>
        sweeps.SetPausedAsync(request.Name, paused: false, context.CancellationToken);

    [Authorize(Policy = Policies.Admin)]
    public override async Task<DeleteSweepResponse> DeleteSweep(SweepName request, ServerCallContext context)
    {
        await sweeps.DeleteAsync(request.Name, context.CancellationToken).ConfigureAwait(false);
        return new DeleteSweepResponse();
    }

    public override Task<SweepReport> GetSweepReport(SweepReportRequest request, ServerCallContext context) =>
        sweeps.ReportAsync(request, context.CancellationToken);

    private static string Requester(ServerCallContext context) =>
        context.GetHttpContext().User.Identity?.Name ?? "";
}
