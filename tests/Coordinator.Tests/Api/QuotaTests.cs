using System.Net;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Api;
using Millisampler.Coordinator.Captures;
using Millisampler.Coordinator.Membership;
using Millisampler.Coordinator.Tests.Captures;
using Millisampler.Coordinator.Tests.Infrastructure;

namespace Millisampler.Coordinator.Tests.Api;

/// <summary>Quotas on captures: the longest capture, and the per-caller and per-rack rate limits.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class QuotaTests
{
    private static HostState Host(string name) =>
        new(name, "r1", name + ":7000", [], new ClockState(), "1", DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, null, null);

    [Fact]
    public void Defaults_CaptureLastsAtMostOneMinute_RateLimitsDocumented()
    {
        Assert.Equal(TimeSpan.FromSeconds(60), new CaptureOptions().MaxCaptureDuration);
        Assert.Equal(20, new RateLimitOptions().CapturesPerCallerPerMinute);
        Assert.Equal(30, new RateLimitOptions().CapturesPerRackPerMinute);
    }

    [Fact]
    public void Validate_Squat2000BinsOf1s_InvalidArgumentNamingTheLimit()
    {
        var squat = new StartCaptureRequest { Rack = "r1", BinWidthNs = 1_000_000_000, Bins = 2000 };

        var e = Assert.Throws<RpcException>(() =>
            CaptureRequestValidator.Validate(squat, [Host("a")], ["r1"], 10_000_000, 60_000_000_000));

        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Contains("bins × bin_width_ns: 2000 × 1s = 2000s", e.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("Coordinator:Captures:MaxCaptureDuration", e.Status.Detail, StringComparison.Ordinal);
        // 2,000 × 10 ms, the longest real capture, passes.
        CaptureRequestValidator.Validate(new StartCaptureRequest { Rack = "r1", BinWidthNs = 10_000_000, Bins = 2000 }, [Host("a")], ["r1"], 10_000_000, 60_000_000_000);
    }

    [Fact]
    public void Limiter_PerRack_OtherRackAndLaterCallersUnaffectedByCallerBudget()
    {
        using var limiter = new CaptureRateLimiter(Options.Create(new RateLimitOptions { CapturesPerCallerPerMinute = 100, CapturesPerRackPerMinute = 2 }),
            NullLogger<CaptureRateLimiter>.Instance);
        limiter.Acquire("alice", "r1");
        limiter.Acquire("bob", "r1");

        var e = Assert.Throws<RpcException>(() => limiter.Acquire("carol", "r1"));

        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        Assert.Contains("CapturesPerRackPerMinute", e.Status.Detail, StringComparison.Ordinal);
        Assert.Equal("30", e.Trailers.GetValue(CaptureRateLimiter.RetryAfterKey));
        limiter.Acquire("carol", "r2");
    }

    [Fact]
    public void Limiter_PerCaller_OneCallerCannotSpendAnothersBudget()
    {
        using var limiter = new CaptureRateLimiter(Options.Create(new RateLimitOptions { CapturesPerCallerPerMinute = 2, CapturesPerRackPerMinute = 100 }),
            NullLogger<CaptureRateLimiter>.Instance);
        limiter.Acquire("mallory", "r1");
        limiter.Acquire("mallory", "r2");

        var e = Assert.Throws<RpcException>(() => limiter.Acquire("mallory", "r3"));

        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        Assert.Contains("'mallory'", e.Status.Detail, StringComparison.Ordinal);
        limiter.Acquire("alice", "r1");
    }

    [Fact]
    public async Task StartCapture_OverTheCallerLimit_ResourceExhaustedWithRetryHint_GrpcAndJson()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync(null, "--Coordinator:RateLimits:CapturesPerCallerPerMinute=2");
        var request = new StartCaptureRequest { Rack = "nowhere", BinWidthNs = 1_000_000, Bins = 10 };
        for (int i = 0; i < 2; i++)
        {
            var notFound = await Assert.ThrowsAsync<RpcException>(() => c.Client.StartCaptureAsync(request).ResponseAsync);
            Assert.Equal(StatusCode.NotFound, notFound.StatusCode);
        }

        var e = await Assert.ThrowsAsync<RpcException>(() => c.Client.StartCaptureAsync(request).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
        Assert.Contains("retry after 30 s", e.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("'test-admin'", e.Status.Detail, StringComparison.Ordinal);
        Assert.Equal("30", e.Trailers.GetValue(CaptureRateLimiter.RetryAfterKey));

        using HttpResponseMessage post = await c.Http.PostAsync("/api/captures",
            new StringContent("""{"rack":"nowhere","binWidthNs":"1000000","bins":10}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.TooManyRequests, post.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(30), post.Headers.RetryAfter?.Delta);
        Assert.Contains("RESOURCE_EXHAUSTED", await post.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
