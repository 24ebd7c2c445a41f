using Millisampler.Contracts.V1;

namespace Millisampler.Coordinator.Triggers;

/// <summary>How the gate starts a rack capture; the coordinator's <see cref="CoordinatorTriggerCaptures"/>, a fake in tests.</summary>
internal interface ITriggerCaptures
{
    /// <summary>
    /// Starts the capture, marked with <paramref name="origin"/> and <paramref name="name"/>. Throws an RpcException
    /// naming why it cannot start (INVALID_ARGUMENT, FAILED_PRECONDITION when no host's ring still holds the window,
    /// RESOURCE_EXHAUSTED when the rack is busy).
    /// </summary>
    Task<Capture> StartAsync(StartCaptureRequest request, string requestedBy, CaptureOrigin origin, string name,
        CancellationToken cancellationToken);
}
