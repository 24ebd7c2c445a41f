using Millisampler.Contracts.V1;

namespace Millisampler.Agent.Triggers;

/// <summary>Where fired rules go: the coordinator's ReportTrigger (through the registration's channel).</summary>
public interface ITriggerSink
{
    /// <summary>Reports one firing; null when there is no coordinator to tell (stand-alone, or not connected yet).</summary>
    Task<TriggerResponse?> ReportAsync(TriggerReport report, CancellationToken cancellationToken);
}
