using System.Globalization;
using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Membership;
using Millisampler.Coordinator.Security;
using Millisampler.Coordinator.Triggers;

namespace Millisampler.Coordinator.Api;

/// <summary>
/// MembershipService over gRPC: agents register, heartbeat and report triggers. Callers need an agent certificate, and
/// act only as a host their certificate names (SAN DNS): registering, heartbeating or reporting as another host is
/// PERMISSION_DENIED, so no one can re-point a host to another address or fire captures in its name.
/// </summary>
[Authorize(Policy = Policies.Agent)]
internal sealed class MembershipGrpcService(MembershipRegistry registry, IOptions<MembershipOptions> options, TriggerGate triggers)
    : MembershipService.MembershipServiceBase
{
    /// <summary>Longest rule name accepted, characters (rule names are configuration keys).</summary>
    public const int MaxRuleLength = 128;

    /// <summary>Most values a report may carry, and the longest value name, characters.</summary>
    public const int MaxValues = 32;

    public const int MaxValueNameLength = 64;

    /// <summary>
    /// An agent's rule fired: validated (the reporter is the host, registered in the rack; the bins are on the grid and
    /// the instant is the end of the last one), then decided by the <see cref="TriggerGate"/>, which captures the rack
    /// around the instant, joins the capture of the same event, or refuses with the reason.
    /// </summary>
    public override async Task<TriggerResponse> ReportTrigger(TriggerReport request, ServerCallContext context)
    {
        string identity = RequireHost(context, request.Host);
        ValidateReport(request);
        HostState? member = registry.Find(request.Host);
        if (member is null)
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"host: '{request.Host}' is not registered; register before reporting triggers"));
        }

        if (!string.Equals(member.Rack, request.Rack, StringComparison.Ordinal))
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"rack: host '{request.Host}' is registered in rack '{member.Rack}', not '{request.Rack}'"));
        }

        var submission = new TriggerSubmission(CaptureOrigin.Trigger, request.Rack, request.Host, request.Rule, request.InstantTaiNs,
            request.Values, triggers.AroundCapture(request.Rack, request.InstantTaiNs), identity, request);
        TriggerRecord record = await triggers.SubmitAsync(submission, context.CancellationToken).ConfigureAwait(false);
        return new TriggerResponse
        {
            Accepted = record.Decision is TriggerDecision.Fired or TriggerDecision.Joined,
            CaptureId = record.CaptureId,
            Reason = record.Decision == TriggerDecision.Joined ? "joined" : record.Reason,
        };
    }

    /// <summary>INVALID_ARGUMENT naming the first wrong field of a report; the values are what the agent measured.</summary>
    internal static void ValidateReport(TriggerReport r)
    {
        string? error =
            string.IsNullOrWhiteSpace(r.Rack) ? "rack: required" :
            string.IsNullOrWhiteSpace(r.Rule) ? "rule: required (the name of the agent's rule)" :
            r.Rule.Length > MaxRuleLength ? $"rule: {r.Rule.Length} characters; at most {MaxRuleLength}" :
            r.Rule.Any(char.IsControl) ? "rule: contains control characters" :
            r.BinWidthNs <= 0 || r.BinWidthNs > TimeNs.PerSecond ? $"bin_width_ns: {Text(r.BinWidthNs)} is out of range; allowed 1..{Text(TimeNs.PerSecond)} ns" :
            r.FirstBin < 0 ? $"first_bin: {Text(r.FirstBin)}; an absolute bin number ≥ 0" :
            r.FirstBin > r.LastBin ? $"first_bin/last_bin: {Text(r.FirstBin)} > {Text(r.LastBin)}; first_bin ≤ last_bin" :
            r.LastBin >= long.MaxValue / r.BinWidthNs ? $"last_bin: {Text(r.LastBin)} is beyond the grid of {Text(r.BinWidthNs)} ns bins" :
            r.InstantTaiNs != (r.LastBin + 1) * r.BinWidthNs ? $"instant_tai_ns: {Text(r.InstantTaiNs)}; must be the end of last_bin, (last_bin + 1) × bin_width_ns = {Text((r.LastBin + 1) * r.BinWidthNs)}" :
            r.Values.Count > MaxValues ? $"values: {r.Values.Count} entries; at most {MaxValues}" :
            r.Values.FirstOrDefault(v => v.Key.Length is 0 or > MaxValueNameLength) is { Key: not null } badKey ? $"values: name '{Truncate(badKey.Key)}' must be 1..{MaxValueNameLength} characters" :
            r.Values.FirstOrDefault(v => !double.IsFinite(v.Value)) is { Key: not null } badValue ? $"values[{badValue.Key}]: {badValue.Value.ToString(CultureInfo.InvariantCulture)} is not a finite number" :
            null;
        if (error is not null)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, error));
        }
    }

    private static string Text(long v) => v.ToString(CultureInfo.InvariantCulture);

    private static string Truncate(string s) => s.Length <= MaxValueNameLength ? s : s[..MaxValueNameLength] + "…";

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
                $"host: the certificate of '{name}' does not name host '{host}' (SAN DNS); an agent registers, heartbeats and reports triggers only as itself"));
        }

        return name;
    }
}
