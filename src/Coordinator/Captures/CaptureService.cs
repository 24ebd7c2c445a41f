using System.Collections.Concurrent;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Membership;
using Millisampler.Coordinator.Storage;

namespace Millisampler.Coordinator.Captures;

/// <summary>
/// The application service behind both APIs (gRPC and JSON): starts captures, answers queries about them,
/// streams their progress. Captures run in the background, owned by this service rather than by the request
/// that started them: a client that disconnects does not abort a rack-wide capture.
/// </summary>
internal sealed partial class CaptureService : IHostedService, IDisposable
{
    private const int DefaultListLimit = 100;
    private const int MaxListLimit = 1000;

    private readonly ConcurrentDictionary<string, CaptureRecord> _active = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Task, bool> _running = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly MembershipRegistry _registry;
    private readonly CaptureRunner _runner;
    private readonly ICaptureStore _store;
    private readonly RackLanes _lanes;
    private readonly TimeProvider _time;
    private readonly TaiClock _clock;
    private readonly CaptureOptions _options;
    private readonly ILogger<CaptureService> _logger;

    public CaptureService(MembershipRegistry registry, CaptureRunner runner, ICaptureStore store, RackLanes lanes,
        TimeProvider time, TaiClock clock, IOptions<CaptureOptions> options, ILogger<CaptureService> logger)
    {
        _clock = clock;
        _registry = registry;
        _runner = runner;
        _store = store;
        _lanes = lanes;
        _time = time;
        _options = options.Value;
        _logger = logger;
    }

    /// <summary>
    /// Validates and starts a capture. Returns once every host answered ScheduleRun (state SCHEDULED, start instant
    /// and per-host outcomes set), or at once with state QUEUED when it waits behind the rack's running capture.
    /// <paramref name="requestedBy"/> is the caller's authenticated identity, recorded in the capture with the
    /// <paramref name="origin"/> (an engineer unless a sweep or trigger started it) and the name of that sweep or trigger.
    /// </summary>
    public async Task<Capture> StartCaptureAsync(StartCaptureRequest request, CancellationToken cancellationToken, string requestedBy = "",
        CaptureOrigin origin = CaptureOrigin.Engineer, string originName = "")
    {
        CapturePlan plan = CaptureRequestValidator.Validate(request, _registry.HostsOf(request.Rack), _registry.Racks(),
            TimeNs.Of(_options.ScheduleMargin), TimeNs.Of(_options.MaxCaptureDuration), _clock.NowNs(), _clock.TaiOffsetSeconds);
        await _store.EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);

        DateTimeOffset now = _time.GetUtcNow();
        var record = new CaptureRecord(plan, Guid.CreateVersion7(now).ToString(), TimeNs.FromUnix(now));
        record.SetRequester(requestedBy, origin, originName);
        RackLanes.Ticket ticket;
        try
        {
            // A window is read from the look-back rings, which are always on: it arms nothing, so it neither waits
            // for nor blocks the rack's lane (docs/coordinator.md, "Windows").
            ticket = plan.IsWindow ? RackLanes.Ticket.Free : _lanes.Reserve(plan.Rack, record.Id, plan.WaitIfBusy, _options.MaxQueuedPerRack);
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.ResourceExhausted)
        {
            Observability.CapturesRejectedBusy.Add(1);
            LogCaptureRejectedBusy(_logger, plan.Rack, ex.Status.Detail);
            throw;
        }

        _active[record.Id] = record;
        try
        {
            await _store.InsertAsync(record.Snapshot(), CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            _active.TryRemove(record.Id, out _);
            _lanes.Release(plan.Rack, record.Id);
            LogInsertFailed(_logger, ex, record.Id);
            throw new RpcException(new Status(StatusCode.Unavailable, $"the capture store is unavailable: {ex.Message}"));
        }

        if (ticket.IsQueued)
        {
            LogCaptureQueued(_logger, record.Id, plan.Rack, ticket.QueuedBehind!);
        }

        Task run = Task.Run(() => RunAndForgetAsync(record, ticket), CancellationToken.None);
        _running.TryAdd(run, true);
        _ = run.ContinueWith(t => _running.TryRemove(t, out _), CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

        if (!ticket.IsQueued)
        {
            await record.Armed.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        return record.Snapshot();
    }

    /// <summary>A capture with its analysis; NOT_FOUND when unknown.</summary>
    public async Task<Capture> GetCaptureAsync(string captureId, CancellationToken cancellationToken)
    {
        RequireId(captureId);
        if (_active.TryGetValue(captureId, out CaptureRecord? record))
        {
            return record.Snapshot();
        }

        return await _store.GetAsync(captureId, includeAnalysis: true, cancellationToken).ConfigureAwait(false)
            ?? throw NotFound(captureId);
    }

    /// <summary>Captures newest first, without analysis; filtered by rack and request time.</summary>
    public async Task<ListCapturesResponse> ListCapturesAsync(ListCapturesRequest request, CancellationToken cancellationToken)
    {
        if (request.FromUnixNs < 0 || request.ToUnixNs < 0 || (request.ToUnixNs != 0 && request.ToUnixNs <= request.FromUnixNs))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument,
                $"from_unix_ns/to_unix_ns: [{request.FromUnixNs}, {request.ToUnixNs}) is not a time range; both ≥ 0, to = 0 (no bound) or to > from"));
        }

        if (request.Limit > MaxListLimit)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"limit: {request.Limit} is out of range; allowed 0 (= {DefaultListLimit})..{MaxListLimit}"));
        }

        int limit = request.Limit == 0 ? DefaultListLimit : (int)request.Limit;
        IReadOnlyList<Capture> stored = await _store.ListAsync(request.Rack, request.FromUnixNs, request.ToUnixNs, limit,
            cancellationToken).ConfigureAwait(false);
        var response = new ListCapturesResponse();
        foreach (Capture c in stored)
        {
            // Running captures: the live record is fresher than the progress row.
            Capture item = _active.TryGetValue(c.CaptureId, out CaptureRecord? live) ? live.Snapshot() : c;
            item.Analysis = null;
            response.Captures.Add(item);
        }

        return response;
    }

    /// <summary>The per-host runs of a finished capture; FAILED_PRECONDITION while it still runs.</summary>
    public async Task<GetCaptureSeriesResponse> GetCaptureSeriesAsync(GetCaptureSeriesRequest request, CancellationToken cancellationToken)
    {
        RequireId(request.CaptureId);
        Capture capture;
        if (_active.TryGetValue(request.CaptureId, out CaptureRecord? record) && !record.Persisted)
        {
            capture = record.Snapshot();
            if (!CaptureRecord.IsTerminal(capture.State))
            {
                throw new RpcException(new Status(StatusCode.FailedPrecondition,
                    $"capture {request.CaptureId} is {capture.State}; its series are available once it is analysed (WatchCapture)"));
            }
        }
        else
        {
            capture = await _store.GetAsync(request.CaptureId, includeAnalysis: false, cancellationToken).ConfigureAwait(false)
                ?? throw NotFound(request.CaptureId);
        }

        var inCapture = capture.Hosts.Select(h => h.Host).ToHashSet(StringComparer.Ordinal);
        var unknown = request.Hosts.Where(h => !inCapture.Contains(h)).ToList();
        if (unknown.Count > 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument,
                $"hosts: not part of capture {request.CaptureId}: {string.Join(", ", unknown.Select(u => $"'{u}'"))}"));
        }

        var response = new GetCaptureSeriesResponse();
        response.Runs.AddRange(await _store.GetRunsAsync(request.CaptureId, [.. request.Hosts], cancellationToken).ConfigureAwait(false));
        return response;
    }

    /// <summary>Writes the capture's progress on every change until it is analysed or failed; one message for a finished capture.</summary>
    public async Task WatchCaptureAsync(string captureId, Func<CaptureProgress, Task> write, CancellationToken cancellationToken)
    {
        RequireId(captureId);
        if (_active.TryGetValue(captureId, out CaptureRecord? record))
        {
            while (true)
            {
                (CaptureProgress progress, long version, bool terminal) = record.Progress();
                await write(progress).ConfigureAwait(false);
                if (terminal)
                {
                    return;
                }

                await record.WaitForChangeAsync(version, cancellationToken).ConfigureAwait(false);
            }
        }

        Capture stored = await _store.GetAsync(captureId, includeAnalysis: false, cancellationToken).ConfigureAwait(false)
            ?? throw NotFound(captureId);
        var p = new CaptureProgress { CaptureId = stored.CaptureId, State = stored.State, StartTaiNs = stored.StartTaiNs, Detail = stored.Detail };
        p.Hosts.AddRange(stored.Hosts.Select(h => new HostProgress { Host = h.Host, Outcome = h.Outcome, Reason = h.Reason }));
        await write(p).ConfigureAwait(false);
    }

    /// <summary>Opens the store (and fails captures a previous process left unfinished) before requests arrive.</summary>
    public Task StartAsync(CancellationToken cancellationToken) => _store.EnsureInitializedAsync(cancellationToken);

    /// <summary>Stops running captures (each is stored as failed) and waits for them within the host's shutdown time.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_running.Keys).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    public void Dispose() => _stopping.Dispose();

    private async Task RunAndForgetAsync(CaptureRecord record, RackLanes.Ticket ticket)
    {
        await _runner.RunAsync(record, ticket, _stopping.Token).ConfigureAwait(false);
        if (record.Persisted)
        {
            _active.TryRemove(record.Id, out _);
        }
    }

    /// <summary>Longest capture id accepted, characters: ours are 36 (a UUID); longer input is refused before any lookup.</summary>
    public const int MaxIdLength = 128;

    private static void RequireId(string captureId)
    {
        if (string.IsNullOrWhiteSpace(captureId))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "capture_id: required"));
        }

        if (captureId.Length > MaxIdLength)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument,
                $"capture_id: {captureId.Length} characters; at most {MaxIdLength} (capture ids are UUIDs)"));
        }
    }

    private static RpcException NotFound(string captureId) =>
        new(new Status(StatusCode.NotFound, $"capture '{captureId}' not found"));
}
