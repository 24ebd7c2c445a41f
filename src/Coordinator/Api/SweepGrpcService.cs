using Grpc.Core;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Sweeps;
using SweepApp = Millisampler.Coordinator.Sweeps.SweepService;

namespace Millisampler.Coordinator.Api;

/// <summary>SweepService over gRPC; every call goes to the same application service as the JSON API.</summary>
internal sealed class SweepGrpcService(SweepApp sweeps) : Contracts.V1.SweepService.SweepServiceBase
{
    public override Task<Sweep> CreateSweep(CreateSweepRequest request, ServerCallContext context) =>
        sweeps.CreateAsync(request, Requester(context), context.CancellationToken);

    public override Task<ListSweepsResponse> ListSweeps(ListSweepsRequest request, ServerCallContext context) =>
        sweeps.ListAsync(context.CancellationToken);

    public override Task<Sweep> GetSweep(SweepName request, ServerCallContext context) =>
        sweeps.GetAsync(request.Name, context.CancellationToken);

    public override Task<Sweep> PauseSweep(SweepName request, ServerCallContext context) =>
        sweeps.SetPausedAsync(request.Name, paused: true, context.CancellationToken);

    public override Task<Sweep> ResumeSweep(SweepName request, ServerCallContext context) =>
        sweeps.SetPausedAsync(request.Name, paused: false, context.CancellationToken);

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
