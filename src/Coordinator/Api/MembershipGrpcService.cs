using Grpc.Core;
using Microsoft.Extensions.Options;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Membership;

namespace Millisampler.Coordinator.Api;

/// <summary>MembershipService over gRPC: agents register and heartbeat.</summary>
internal sealed class MembershipGrpcService(MembershipRegistry registry, IOptions<MembershipOptions> options)
    : MembershipService.MembershipServiceBase
{
    public override Task<RegisterResponse> Register(RegisterRequest request, ServerCallContext context)
    {
        registry.Register(request);
        MembershipOptions o = options.Value;
        return Task.FromResult(new RegisterResponse
        {
            CoordinatorId = o.EffectiveCoordinatorId,
            HeartbeatIntervalMs = (uint)o.HeartbeatInterval.TotalMilliseconds,
        });
    }

    public override Task<HeartbeatResponse> Heartbeat(HeartbeatRequest request, ServerCallContext context)
    {
        registry.Heartbeat(request);
        return Task.FromResult(new HeartbeatResponse());
    }
}
