using Grpc.Core;
using Microsoft.Extensions.Options;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Captures;
using Millisampler.Coordinator.Membership;

namespace Millisampler.Coordinator.Triggers;

/// <summary>
/// Starts trigger captures through <see cref="CaptureService"/>, so they are validated, stored, listed and analysed
/// like any other. An AROUND window that no host's ring will still hold when it is read is refused before it starts
/// (FAILED_PRECONDITION), so the gate can say so instead of spending the rack's hourly cap on a capture that fails.
/// </summary>
internal sealed class CoordinatorTriggerCaptures(CaptureService captures, MembershipRegistry registry, TaiClock clock,
    IOptions<CaptureOptions> captureOptions) : ITriggerCaptures
{
    public Task<Capture> StartAsync(StartCaptureRequest request, string requestedBy, CaptureOrigin origin, string name,
        CancellationToken cancellationToken)
    {
        if (request.WindowCase == StartCaptureRequest.WindowOneofCase.Around && request.BinWidthNs > 0)
        {
            RequireCoverage(request);
        }

        return captures.StartCaptureAsync(request, cancellationToken, requestedBy, origin, name);
    }

    private void RequireCoverage(StartCaptureRequest request)
    {
        AroundWindow a = request.Around;
        long w = request.BinWidthNs;
        long instant = a.InstantTaiNs != 0 ? a.InstantTaiNs : TimeNs.TaiFromUnix(a.InstantUnixNs, clock.TaiOffsetSeconds);
        if (instant <= 0 || a.BeforeNs < 0 || a.AfterNs < 0)
        {
            return; // the validator names the field
        }

        long first = Math.DivRem(instant - a.BeforeNs, w).Quotient;
        long endExclusive = (instant + a.AfterNs + w - 1) / w;
        long bins = endExclusive - first;
        if (bins < 1 || bins > uint.MaxValue)
        {
            return;
        }

        // The runner reads the window once its end (plus the read margin) has passed, or at once when it has.
        long readBin = Math.Max(clock.NowNs(), (endExclusive * w) + TimeNs.Of(captureOptions.Value.WindowReadMargin)) / w;
        var hosts = registry.HostsOf(request.Rack)
            .Where(h => request.Hosts.Count == 0 || request.Hosts.Contains(h.Host))
            .ToList();
        var missing = hosts.Select(h => (h.Host, Reason: RingCoverage.Missing(h.Limits, w, first, (uint)bins, readBin))).ToList();
        if (missing.Count > 0 && missing.All(m => m.Reason is not null))
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, "ring does not cover the window: " +
                string.Join("; ", missing.Take(5).Select(m => $"{m.Host}: {m.Reason}"))));
        }
    }
}
