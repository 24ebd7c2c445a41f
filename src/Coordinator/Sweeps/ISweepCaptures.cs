using Millisampler.Contracts.V1;

namespace Millisampler.Coordinator.Sweeps;

/// <summary>What the sweep scheduler needs from the rest of the coordinator (captures and membership), so it is tested with a fake.</summary>
internal interface ISweepCaptures
{
    /// <summary>Racks this coordinator has agents of.</summary>
    IReadOnlyList<string> Racks();

    /// <summary>True when the rack has a capture running or queued.</summary>
    bool IsBusy(string rack);

    /// <summary>Starts a sweep capture that never queues; its id, or null when the rack turned out busy.</summary>
    Task<string?> StartAsync(PlannedStart start, CancellationToken cancellationToken);

    /// <summary>Waits for the capture to end; its summary when it was analysed, null when it failed.</summary>
    Task<SweepSummary?> CompleteAsync(string captureId, PlannedStart start, CancellationToken cancellationToken);
}
