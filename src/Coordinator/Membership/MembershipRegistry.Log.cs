namespace Millisampler.Coordinator.Membership;

internal sealed partial class MembershipRegistry
{
    [LoggerMessage(100, LogLevel.Information, "Host {Host} registered in rack {Rack} at {Address} (agent {AgentVersion})")]
    private static partial void LogHostRegistered(ILogger logger, string host, string rack, string address, string agentVersion);

    [LoggerMessage(101, LogLevel.Warning, "Host {Host} moved from rack {OldRack} to rack {NewRack}")]
    private static partial void LogHostMovedRack(ILogger logger, string host, string oldRack, string newRack);

    [LoggerMessage(102, LogLevel.Information, "Heartbeat from host {Host} of rack {Rack}, which is not registered there; told it to register")]
    private static partial void LogHeartbeatFromUnknownHost(ILogger logger, string host, string rack);

    [LoggerMessage(103, LogLevel.Information, "Forgot host {Host} of rack {Rack}: no heartbeat since {LastSeen:o}")]
    private static partial void LogHostForgotten(ILogger logger, string host, string rack, DateTimeOffset lastSeen);

    [LoggerMessage(104, LogLevel.Warning, "Host {Host} reports TAI−UTC = {AgentOffset} s but this coordinator has {OwnOffset} s: start instants will be off by the difference and the agent will refuse them; set the kernel TAI offset the same way on both (chrony: leapsectz right/UTC)")]
    private static partial void LogTaiOffsetMismatch(ILogger logger, string host, int agentOffset, int ownOffset);

    [LoggerMessage(105, LogLevel.Warning, "Host {Host} of rack {Rack} changed its address from {OldAddress} to {NewAddress} (registered by {Identity})")]
    private static partial void LogHostAddressChanged(ILogger logger, string host, string rack, string oldAddress, string newAddress, string identity);
}
