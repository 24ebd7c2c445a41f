using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Membership;
using Millisampler.Coordinator.Security;

namespace Millisampler.Coordinator.Api;

/// <summary>
/// MembershipService over gRPC: agents register and heartbeat. Callers need an agent certificate, and act only as a host
/// their certificate names (SAN DNS): registering or heartbeating as another host is PERMISSION_DENIED, so no one can
/// re-point a host to another address.
/// </summary>
[Authorize(Policy = Policies.Agent)]
internal sealed class MembershipGrpcService(MembershipRegistry registry, IOptions<MembershipOptions> options)
    : MembershipService.MembershipServiceBase
{
    public override Task<RegisterResponse> Register(RegisterRequest request, ServerCallContext context)
    {
        string identity = RequireHost(context, request.Host);
        registry.Register(request, identity);
        MembershipOptions o = options.Value;
        return Task.FromResult(new RegisterResponse
        {
            CoordinatorId = o.EffectiveCoordinatorId,
            HeartbeatIntervalMs = (uint)o.HeartbeatInterval.TotalMilliseconds,
        });
    }

    public override Task<HeartbeatResponse> Heartbeat(HeartbeatRequest request, ServerCallContext context)
    {
        RequireHost(context, request.Host);
        registry.Heartbeat(request);
        return Task.FromResult(new HeartbeatResponse());
    }

    /// <summary>The caller's name when its certificate names <paramref name="host"/>; PERMISSION_DENIED otherwise.</summary>
    internal static string RequireHost(ServerCallContext context, string host)
    {
        var user = CoordinatorAuthentication.UserOf(context);
        string name = CoordinatorAuthentication.NameOf(user);
        if (!CoordinatorAuthentication.MayActAs(user, host))
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied,
                $"host: the certificate of '{name}' does not name host '{host}' (SAN DNS); an agent registers and heartbeats only as itself"));
        }

        return name;
    }
}
