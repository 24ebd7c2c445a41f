using Grpc.Core;

namespace Millisampler.Coordinator.Membership;

internal sealed partial class AgentProber
{
    [LoggerMessage(110, LogLevel.Warning, "GetInfo probe of host {Host} at {Address} failed: {StatusCode}: {Detail}")]
    private static partial void LogProbeFailed(ILogger logger, string host, string address, StatusCode statusCode, string detail);
}
