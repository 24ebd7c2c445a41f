using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Captures;
using Millisampler.Coordinator.Membership;
using Millisampler.Coordinator.Security;
using Millisampler.Coordinator.Triggers;

namespace Millisampler.Coordinator.Api;

/// <summary>CoordinatorService over gRPC; every call goes to the same application services as the JSON API. Reads need viewer, StartCapture operator.</summary>
[Authorize(Policy = Policies.Viewer)]
internal sealed class CoordinatorGrpcService(CaptureService captures, MembershipRegistry registry, CaptureRateLimiter limiter, TriggerGate triggers)
    : CoordinatorService.CoordinatorServiceBase
{
    [Authorize(Policy = Policies.Operator)]
    public override Task<Capture> StartCapture(StartCaptureRequest request, ServerCallContext context)
    {
        limiter.Acquire(CallerIdentity.Of(context.GetHttpContext()), request.Rack);
        return captures.StartCaptureAsync(request, context.CancellationToken, CoordinatorAuthentication.NameOf(CoordinatorAuthentication.UserOf(context)));
    }

    public override Task WatchCapture(WatchCaptureRequest request, IServerStreamWriter<CaptureProgress> responseStream,
        ServerCallContext context) =>
        captures.WatchCaptureAsync(request.CaptureId, p => responseStream.WriteAsync(p, context.CancellationToken),
            context.CancellationToken);

    public override Task<Capture> GetCapture(GetCaptureRequest request, ServerCallContext context) =>
        captures.GetCaptureAsync(request.CaptureId, context.CancellationToken);

    public override Task<ListCapturesResponse> ListCaptures(ListCapturesRequest request, ServerCallContext context) =>
        captures.ListCapturesAsync(request, context.CancellationToken);

    public override Task<ListRacksResponse> ListRacks(ListRacksRequest request, ServerCallContext context) =>
        Task.FromResult(registry.ListRacks());

    public override Task<GetCaptureSeriesResponse> GetCaptureSeries(GetCaptureSeriesRequest request, ServerCallContext context) =>
        captures.GetCaptureSeriesAsync(request, context.CancellationToken);

    public override Task<ListTriggersResponse> ListTriggers(ListTriggersRequest request, ServerCallContext context) =>
        triggers.ListAsync(request, context.CancellationToken);

    public override Task<TriggerPolicy> GetTriggerPolicy(GetTriggerPolicyRequest request, ServerCallContext context) =>
        Task.FromResult(triggers.Policy());
}
