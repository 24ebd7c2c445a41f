using Microsoft.Extensions.Logging;

namespace Millisampler.ServiceDefaults.Grpc;

public sealed partial class UndecodableRequests
{
    [LoggerMessage(EventId = 20, EventName = "UndecodableRequest", Level = LogLevel.Warning,
        Message = "Request to {Method} is not a valid {Type} ({Reason}); answered INVALID_ARGUMENT; {Suppressed} more since the last such line")]
    private static partial void LogUndecodable(ILogger logger, string method, string type, string reason, long suppressed);
}
