using Millisampler.Agent.Sampling;
using Millisampler.Agent.Storage;
using Millisampler.Common.Text;
using Millisampler.Contracts.V1;
using Millisampler.ServiceDefaults;

namespace Millisampler.Agent.Schedule;

/// <summary>Look-back windows: bins already past, read out of the kernel's ring and stored as runs.</summary>
internal sealed partial class RunArbiter
{
    private readonly Dictionary<string, Task<WindowDecision>> _windows = new(StringComparer.Ordinal);

    /// <summary>
    /// Reads the window of <paramref name="request"/> out of the look-back ring, stores it (origin LOOKBACK, pinned
    /// until fetched like a coordinator run) and returns it. Idempotent per run id: the same id with the same window
    /// returns the stored run; with another window, or an id another run holds, it is refused (ALREADY_EXISTS).
    /// </summary>
    public async Task<WindowDecision> ReadWindowAsync(ReadWindowRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (CheckWindowFields(request) is { } fieldError)
        {
            return RejectWindow(request, ScheduleRejection.InvalidArgument, fieldError);
        }

        Task<WindowDecision> work;
        lock (_sync)
        {
            if (_stopping.IsCancellationRequested)
            {
                return RejectWindow(request, ScheduleRejection.Unavailable, "the agent is shutting down; retry after it restarts (the ring restarts empty)");
            }

            if (_runs.TryGetValue(request.RunId, out var coordinatorRun))
            {
                return RejectWindow(request, ScheduleRejection.AlreadyExists,
                    $"run_id '{request.RunId}' is taken by coordinator run (start {coordinatorRun.Request.StartTaiNs}); choose another id");
            }

            // A retry racing the first request waits for the same read instead of reading (and storing) twice.
            if (_windows.TryGetValue(request.RunId, out var inFlight))
            {
                work = inFlight;
            }
            else
            {
                work = ReadAndStoreWindowAsync(request);
                _windows.Add(request.RunId, work);
                Track(work);
            }
        }

        var decision = await work.WaitAsync(cancellationToken).ConfigureAwait(false);
        return decision.Accepted && !SameWindow(decision.Run!, request)
            ? RejectWindow(request, ScheduleRejection.AlreadyExists, TakenMessage(request, decision.Run!))
            : decision;
    }

    private async Task<WindowDecision> ReadAndStoreWindowAsync(ReadWindowRequest request)
    {
        await Task.Yield();
        try
        {
            var stored = await _store.TryGetAsync(request.RunId, CancellationToken.None).ConfigureAwait(false);
            if (stored is not null)
            {
                return stored.Origin == RunOrigin.Lookback
                    ? WindowDecision.Read(stored, duplicate: true)
                    : RejectWindow(request, ScheduleRejection.AlreadyExists, TakenMessage(request, stored));
            }

            lock (_sync)
            {
                if (PinQuotaErrorLocked() is { } quotaError)
                {
                    return RejectWindow(request, ScheduleRejection.ResourceExhausted, quotaError);
                }
            }

            var runRequest = new RunRequest(request.RunId, request.FirstBin * request.BinWidthNs, request.BinWidthNs, request.Bins, RunOrigin.Lookback);
            Run run;
            try
            {
                run = _engine.ReadWindow(runRequest);
            }
            catch (WindowUnavailableException e)
            {
                return RejectWindow(request, ScheduleRejection.FailedPrecondition, e.Message);
            }
            catch (ArgumentOutOfRangeException e)
            {
                return RejectWindow(request, ScheduleRejection.InvalidArgument, FirstSentence(e.Message));
            }

            Log.WindowRead(_logger, request.RunId, Requester(request.Requester), request.FirstBin, request.Bins, DurationText.Format(request.BinWidthNs));
            await PinAsync(request.RunId).ConfigureAwait(false);
            await EndAsync(run).ConfigureAwait(false);
            return WindowDecision.Read(run, duplicate: false);
        }
        finally
        {
            lock (_sync)
            {
                // Stored (or refused): later retries find the run in the store, or try again.
                _windows.Remove(request.RunId);
            }
        }
    }

    /// <summary>Why the request's fields cannot name a window; null when they can.</summary>
    internal static string? CheckWindowFields(ReadWindowRequest request)
    {
        if (!RunStore.IsValidRunId(request.RunId, out var error))
        {
            return $"{error} (run_id must be 1..64 UTF-8 bytes, no control characters, no '/' or '\\')";
        }

        if (request.BinWidthNs <= 0)
        {
            return $"bin_width_ns is {request.BinWidthNs}; it must be positive (the width of a look-back ring, see AgentInfo.lookback_rings)";
        }

        if (request.Bins == 0)
        {
            return "bins is 0; a window has at least one bin";
        }

        if (request.FirstBin < 0 || request.FirstBin > (long.MaxValue / request.BinWidthNs) - request.Bins)
        {
            return $"first_bin is {request.FirstBin}; it must be >= 0 and (first_bin + bins) × bin_width_ns must fit in int64 TAI ns";
        }

        return null;
    }

    private static bool SameWindow(Run run, ReadWindowRequest request) =>
        run.Origin == RunOrigin.Lookback && run.BinWidthNs == request.BinWidthNs && run.Bins == request.Bins
        && run.StartTaiNs == request.FirstBin * request.BinWidthNs;

    private static string TakenMessage(ReadWindowRequest request, Run stored) =>
        stored.Origin == RunOrigin.Lookback
            ? $"run_id '{request.RunId}' was already read for window first_bin {stored.StartTaiNs / stored.BinWidthNs}, bins {stored.Bins}, bin_width_ns {stored.BinWidthNs}; a retry must send the same values, a new window needs a new id"
            : $"run_id '{request.RunId}' is taken by a stored {Describe(stored.Origin)} run (start {stored.StartTaiNs}, {stored.Bins} x {DurationText.Format(stored.BinWidthNs)}); choose another id";

    private static string FirstSentence(string message)
    {
        // ArgumentException appends " (Parameter 'x')"; the sentence before it is the user's.
        int at = message.IndexOf(" (Parameter", StringComparison.Ordinal);
        return at > 0 ? message[..at] : message;
    }

    private WindowDecision RejectWindow(ReadWindowRequest request, ScheduleRejection rejection, string message)
    {
        Observability.ScheduleRejected.Add(1, new KeyValuePair<string, object?>("reason", TelemetryLabels.Snake(rejection.ToString())));
        Log.WindowRejected(_logger, request.RunId, Requester(request.Requester), rejection, message);
        return WindowDecision.Reject(rejection, message);
    }
}
