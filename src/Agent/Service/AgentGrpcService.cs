using Grpc.Core;
using Microsoft.Extensions.Options;
using Millisampler.Agent.Clock;
using Millisampler.Agent.Sampling;
using Millisampler.Agent.Schedule;
using Millisampler.Agent.Storage;
using Millisampler.Agent.Triggers;
using Millisampler.Contracts.V1;

namespace Millisampler.Agent.Service;

/// <summary>AgentService over gRPC: maps requests onto <see cref="RunArbiter"/> and <see cref="RunStore"/>, outcomes onto statuses.</summary>
internal sealed partial class AgentGrpcService(
    RunArbiter runs,
    RunStore store,
    HostIdentity identity,
    HostClock clock,
    TriggerWatcher triggers,
    AgentAddress address,
    TimeProvider time,
    IOptions<RunStoreOptions> storeOptions,
    ILogger<AgentGrpcService> logger) : AgentService.AgentServiceBase
{
    /// <summary>ListRuns answers at most this many summaries per call.</summary>
    internal const int MaxListLimit = 10_000;

    /// <summary>ListRuns answers this many when the caller leaves the limit at 0.</summary>
    internal const int DefaultListLimit = 100;

    public override Task<AgentInfo> GetInfo(GetInfoRequest request, ServerCallContext context)
    {
        long receivedTai = clock.NowTaiNs();
        var limits = runs.Limits;
        var info = new AgentInfo
        {
            Host = identity.Host,
            Rack = identity.Rack,
            AttachMode = runs.Engine.AttachMode,
            Clock = runs.ReadClock(),
            CpuCount = runs.Engine.CpuCount,
            MaxBins = limits.MaxBins,
            MinBinWidthNs = limits.MinBinWidthNs,
            MaxBinWidthNs = limits.MaxBinWidthNs,
            MaxLeadNs = limits.MaxLeadNs,
            AgentVersion = AgentVersion.Text,
            Address = address.Resolve(),
        };
        info.Interfaces.AddRange(identity.Interfaces);
        info.LookbackRings.AddRange(runs.Engine.LookbackRings);
        info.TriggerRules.AddRange(triggers.RuleInfos);
        info.ClockSample = Sample(receivedTai);
        return Task.FromResult(info);
    }

    public override async Task<ScheduleRunResponse> ScheduleRun(ScheduleRunRequest request, ServerCallContext context)
    {
        long receivedTai = clock.NowTaiNs();
        long received = time.GetTimestamp();
        var decision = await runs.ScheduleAsync(request, received, context.CancellationToken).ConfigureAwait(false);
        if (!decision.Accepted)
        {
            throw new RpcException(new Status(ToStatus(decision.Rejection), decision.Message));
        }

        return new ScheduleRunResponse
        {
            RunId = request.RunId,
            StartTaiNs = request.StartTaiNs,
            Duplicate = decision.Duplicate,
            Clock = decision.Clock,
            ClockSample = Sample(receivedTai),
        };
    }

    public override async Task<Run> ReadWindow(ReadWindowRequest request, ServerCallContext context)
    {
        WindowDecision decision;
        try
        {
            decision = await runs.ReadWindowAsync(request, context.CancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The read goes on and is stored: a retry with the same run_id gets it.
            throw new RpcException(new Status(StatusCode.Cancelled, $"ReadWindow for run '{request.RunId}' was cancelled or its deadline passed; retry with the same run_id"));
        }

        if (!decision.Accepted)
        {
            throw new RpcException(new Status(ToStatus(decision.Rejection), decision.Message));
        }

        return decision.Run!;
    }

    public override async Task<ReleaseRunResponse> ReleaseRun(ReleaseRunRequest request, ServerCallContext context)
    {
        if (!RunStore.IsValidRunId(request.RunId, out var error))
        {
            throw InvalidRunId(error);
        }

        try
        {
            bool released = await runs.ReleaseAsync(request.RunId, request.Requester, context.CancellationToken).ConfigureAwait(false);
            return new ReleaseRunResponse { Released = released };
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, $"the pin of run '{request.RunId}' could not be dropped: {e.Message}; retry later"));
        }
    }

    private static RpcException InvalidRunId(string? error) =>
        new(new Status(StatusCode.InvalidArgument, $"{error} (run_id must be 1..64 UTF-8 bytes, no control characters, no '/' or '\\')"));

    /// <summary>The agent's timestamps of this call: TAI at the handler's entry and just before it answers.</summary>
    private ClockSample Sample(long receivedTai) => new() { ReceiveTaiNs = receivedTai, TransmitTaiNs = clock.NowTaiNs() };

    public override async Task<Run> GetRun(GetRunRequest request, ServerCallContext context)
    {
        if (!RunStore.IsValidRunId(request.RunId, out var error))
        {
            throw InvalidRunId(error);
        }

        Run? run;
        try
        {
            run = await runs.GetRunAsync(request.RunId, context.CancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            // The gRPC deadline is wall-clock time set by the caller, so it is compared against the system clock.
            bool deadlinePassed = context.Deadline != DateTime.MaxValue && TimeProvider.System.GetUtcNow().UtcDateTime >= context.Deadline;
            Log.GetRunGaveUp(logger, request.RunId, deadlinePassed ? "deadline passed" : "caller cancelled");
            throw deadlinePassed
                ? new RpcException(new Status(StatusCode.DeadlineExceeded, $"run '{request.RunId}' was not complete before the caller's deadline; ask again later or with a later deadline"))
                : new RpcException(new Status(StatusCode.Cancelled, $"GetRun for run '{request.RunId}' was cancelled by the caller"));
        }

        if (run is null)
        {
            throw new RpcException(new Status(StatusCode.NotFound,
                $"no run '{request.RunId}' on host '{identity.Host}': never scheduled here, or deleted after {StoreRetention()}"));
        }

        await runs.MarkFetchedAsync(run, CancellationToken.None).ConfigureAwait(false);
        return run;
    }

    public override async Task<ListRunsResponse> ListRuns(ListRunsRequest request, ServerCallContext context)
    {
        if (request.FromTaiNs < 0)
        {
            throw Invalid($"from_tai_ns is {request.FromTaiNs}; it must be >= 0 (0 = no lower bound)");
        }

        if (request.ToTaiNs < 0)
        {
            throw Invalid($"to_tai_ns is {request.ToTaiNs}; it must be >= 0 (0 = no upper bound)");
        }

        if (request.ToTaiNs != 0 && request.ToTaiNs <= request.FromTaiNs)
        {
            throw Invalid($"to_tai_ns ({request.ToTaiNs}) must be after from_tai_ns ({request.FromTaiNs}), or 0 for no upper bound");
        }

        if (request.BinWidthNs < 0)
        {
            throw Invalid($"bin_width_ns is {request.BinWidthNs}; it must be >= 0 (0 = every width)");
        }

        if (request.Limit > MaxListLimit)
        {
            throw Invalid($"limit is {request.Limit}; allowed 0..{MaxListLimit} (0 = {DefaultListLimit})");
        }

        int limit = request.Limit == 0 ? DefaultListLimit : (int)request.Limit;
        var summaries = await store.ListAsync(request.FromTaiNs, request.ToTaiNs, request.BinWidthNs, limit, context.CancellationToken).ConfigureAwait(false);
        var response = new ListRunsResponse();
        // Runs the store refused (a full disk) are listed too, newest first with the rest; their status_detail says so.
        response.Runs.AddRange(summaries.Concat(runs.UnstoredSummaries(request.FromTaiNs, request.ToTaiNs, request.BinWidthNs))
            .OrderByDescending(r => r.StartTaiNs).ThenBy(r => r.RunId, StringComparer.Ordinal).Take(limit));
        return response;
    }

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));

    private string StoreRetention() => $"{storeOptions.Value.RetentionDays} days (Agent:RunStore:RetentionDays)";

    internal static StatusCode ToStatus(ScheduleRejection rejection) => rejection switch
    {
        ScheduleRejection.InvalidArgument => StatusCode.InvalidArgument,
        ScheduleRejection.AlreadyExists => StatusCode.AlreadyExists,
        ScheduleRejection.FailedPrecondition => StatusCode.FailedPrecondition,
        ScheduleRejection.Aborted => StatusCode.Aborted,
        ScheduleRejection.Unavailable => StatusCode.Unavailable,
        ScheduleRejection.ResourceExhausted => StatusCode.ResourceExhausted,
        _ => StatusCode.Internal,
    };
}
