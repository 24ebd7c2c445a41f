using System.Collections.Concurrent;
using Grpc.Core;
using Millisampler.Contracts.V1;

namespace Millisampler.Cli.Tests.Infrastructure;

/// <summary>
/// A scripted coordinator: answers from what the test put in, records what the CLI sent. Hosted by
/// <see cref="FakeCoordinator"/> on Kestrel, so the CLI talks to it over real h2c gRPC.
/// </summary>
public sealed class FakeCoordinatorService : CoordinatorService.CoordinatorServiceBase
{
    /// <summary>Answers StartCapture; may throw an RpcException. Default: a scheduled capture "cap-1".</summary>
    public Func<StartCaptureRequest, Capture> OnStart { get; set; } =
        r => new Capture { CaptureId = "cap-1", Rack = r.Rack, State = CaptureState.Scheduled };

    /// <summary>Every StartCapture request received.</summary>
    public ConcurrentQueue<StartCaptureRequest> StartRequests { get; } = new();

    /// <summary>GetCapture answers by id; unknown ids are NOT_FOUND.</summary>
    public ConcurrentDictionary<string, Capture> Captures { get; } = new(StringComparer.Ordinal);

    /// <summary>WatchCapture streams these messages for an id, then ends.</summary>
    public ConcurrentDictionary<string, CaptureProgress[]> Progress { get; } = new(StringComparer.Ordinal);

    /// <summary>Ids whose WatchCapture stays open after its messages, until the client goes away.</summary>
    public ConcurrentDictionary<string, bool> HoldWatchOpen { get; } = new(StringComparer.Ordinal);

    /// <summary>Completes when a held watch has sent its messages.</summary>
    public TaskCompletionSource WatchHeld { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>GetCaptureSeries answers by id.</summary>
    public ConcurrentDictionary<string, Run[]> Series { get; } = new(StringComparer.Ordinal);

    /// <summary>ListRacks answer.</summary>
    public ListRacksResponse Racks { get; set; } = new();

    /// <summary>ListCaptures answer.</summary>
    public ListCapturesResponse CaptureList { get; set; } = new();

    /// <summary>Every ListCaptures request received.</summary>
    public ConcurrentQueue<ListCapturesRequest> ListRequests { get; } = new();

    public override Task<Capture> StartCapture(StartCaptureRequest request, ServerCallContext context)
    {
        StartRequests.Enqueue(request);
        return Task.FromResult(OnStart(request));
    }

    public override async Task WatchCapture(WatchCaptureRequest request, IServerStreamWriter<CaptureProgress> responseStream,
        ServerCallContext context)
    {
        if (!Progress.TryGetValue(request.CaptureId, out CaptureProgress[]? messages))
        {
            throw NotFound(request.CaptureId);
        }

        foreach (CaptureProgress p in messages)
        {
            await responseStream.WriteAsync(p, context.CancellationToken);
        }

        if (HoldWatchOpen.ContainsKey(request.CaptureId))
        {
            WatchHeld.TrySetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, context.CancellationToken);
            }
            catch (OperationCanceledException)
            {
                // The client stopped waiting.
            }
        }
    }

    public override Task<Capture> GetCapture(GetCaptureRequest request, ServerCallContext context) =>
        Captures.TryGetValue(request.CaptureId, out Capture? c) ? Task.FromResult(c) : throw NotFound(request.CaptureId);

    public override Task<ListCapturesResponse> ListCaptures(ListCapturesRequest request, ServerCallContext context)
    {
        ListRequests.Enqueue(request);
        return Task.FromResult(CaptureList);
    }

    public override Task<ListRacksResponse> ListRacks(ListRacksRequest request, ServerCallContext context) => Task.FromResult(Racks);

    /// <summary>ListTriggers answer, and every request received.</summary>
    public ListTriggersResponse TriggerList { get; set; } = new();

    public ConcurrentQueue<ListTriggersRequest> TriggerRequests { get; } = new();

    /// <summary>GetTriggerPolicy answer.</summary>
    public TriggerPolicy TriggerPolicy { get; set; } = new();

    public override Task<ListTriggersResponse> ListTriggers(ListTriggersRequest request, ServerCallContext context)
    {
        TriggerRequests.Enqueue(request);
        return request.Limit > 1000
            ? throw new RpcException(new Status(StatusCode.InvalidArgument, $"limit: {request.Limit} is out of range; allowed 0 (= 100)..1000"))
            : Task.FromResult(TriggerList);
    }

    public override Task<TriggerPolicy> GetTriggerPolicy(GetTriggerPolicyRequest request, ServerCallContext context) => Task.FromResult(TriggerPolicy);

    public override Task<GetCaptureSeriesResponse> GetCaptureSeries(GetCaptureSeriesRequest request, ServerCallContext context)
    {
        if (!Series.TryGetValue(request.CaptureId, out Run[]? runs))
        {
            throw NotFound(request.CaptureId);
        }

        var response = new GetCaptureSeriesResponse();
        response.Runs.AddRange(runs);
        return Task.FromResult(response);
    }

    private static RpcException NotFound(string id) => new(new Status(StatusCode.NotFound, $"capture '{id}' not found"));
}
