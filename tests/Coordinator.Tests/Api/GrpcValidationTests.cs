using Grpc.Core;
using Grpc.Net.Client;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Tests.Captures;
using Millisampler.Coordinator.Tests.Infrastructure;
using Millisampler.ServiceDefaults.Security;

namespace Millisampler.Coordinator.Tests.Api;

/// <summary>Bad StartCapture input over real gRPC: each field rejected with INVALID_ARGUMENT naming it.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class GrpcValidationTests
{
    public static TheoryData<string, StartCaptureRequest> BadRequests => new()
    {
        { "bin_width_ns", new StartCaptureRequest { Rack = "r1", BinWidthNs = 50_000, Bins = 10 } },
        { "bins", new StartCaptureRequest { Rack = "r1", BinWidthNs = 1_000_000, Bins = 0 } },
        { "bins", new StartCaptureRequest { Rack = "r1", BinWidthNs = 1_000_000, Bins = 2_001 } },
        { "lead_time_ns", new StartCaptureRequest { Rack = "r1", BinWidthNs = 1_000_000, Bins = 10, LeadTimeNs = 1 } },
        { "burst_threshold", new StartCaptureRequest { Rack = "r1", BinWidthNs = 1_000_000, Bins = 10, BurstThreshold = 1.01 } },
        { "event_min_hosts", new StartCaptureRequest { Rack = "r1", BinWidthNs = 1_000_000, Bins = 10, EventMinHosts = 1 } },
        { "hosts", new StartCaptureRequest { Rack = "r1", BinWidthNs = 1_000_000, Bins = 10, Hosts = { "h01", "ghost" } } },
        { "rack", new StartCaptureRequest { BinWidthNs = 1_000_000, Bins = 10 } },
    };

    [Fact]
    public async Task StartCapture_EachBadField_InvalidArgumentNamingIt()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync();
        await c.AddAgentsAsync(1);

        foreach (object[] row in BadRequests)
        {
            var field = (string)row[0];
            var request = (StartCaptureRequest)row[1];
            RpcException ex = await Assert.ThrowsAsync<RpcException>(() => c.Client.StartCaptureAsync(request).ResponseAsync);
            Assert.Equal(StatusCode.InvalidArgument, ex.StatusCode);
            Assert.StartsWith(field + ":", ex.Status.Detail);
        }

        RpcException ghost = await Assert.ThrowsAsync<RpcException>(() => c.Client.StartCaptureAsync(
            new StartCaptureRequest { Rack = "r1", BinWidthNs = 1_000_000, Bins = 10, Hosts = { "ghost" } }).ResponseAsync);
        Assert.Contains("'ghost'", ghost.Status.Detail);

        RpcException unknownRack = await Assert.ThrowsAsync<RpcException>(() => c.Client.StartCaptureAsync(
            new StartCaptureRequest { Rack = "nowhere", BinWidthNs = 1_000_000, Bins = 10 }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, unknownRack.StatusCode);

        RpcException badWatch = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            using AsyncServerStreamingCall<CaptureProgress> w = c.Client.WatchCapture(new WatchCaptureRequest { CaptureId = "missing" });
            await w.ResponseStream.MoveNext();
        });
        Assert.Equal(StatusCode.NotFound, badWatch.StatusCode);
    }

    [Fact]
    public async Task Register_ThenHeartbeat_OverGrpc_ListRacksShowsHealthyHost()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync();
        await c.AddAgentsAsync(2, rack: "r7");
        using GrpcChannel h01 = c.OpenChannel("h01", Roles.Agent);
        using GrpcChannel h99 = c.OpenChannel("h99", Roles.Agent);

        await new MembershipService.MembershipServiceClient(h01).HeartbeatAsync(new HeartbeatRequest { Host = "h01", Rack = "r7" });
        RpcException unknown = await Assert.ThrowsAsync<RpcException>(() =>
            new MembershipService.MembershipServiceClient(h99).HeartbeatAsync(new HeartbeatRequest { Host = "h99", Rack = "r7" }).ResponseAsync);

        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        ListRacksResponse racks = await c.Client.ListRacksAsync(new ListRacksRequest());
        Rack rack = Assert.Single(racks.Racks);
        Assert.Equal("r7", rack.Rack_);
        Assert.All(rack.Hosts, h => Assert.Equal("healthy", h.Health));
    }
}
