using Grpc.Core;

namespace Millisampler.Agent.Registration;

internal sealed partial class CoordinatorRegistration
{
    private static partial class Log
    {
        [LoggerMessage(EventId = 2401, EventName = "RegistrationStandAlone", Level = LogLevel.Information,
            Message = "No Agent:CoordinatorAddress: running stand-alone (continuous schedule and direct gRPC only)")]
        public static partial void StandAlone(ILogger logger);

        [LoggerMessage(EventId = 2402, EventName = "Registered", Level = LogLevel.Information,
            Message = "Registered with coordinator {Coordinator} ({CoordinatorId}) as {Host} in rack {Rack} at {Address}; heartbeat every {IntervalMs} ms")]
        public static partial void Registered(ILogger logger, string coordinator, string coordinatorId, string host, string rack, string address, double intervalMs);

        [LoggerMessage(EventId = 2403, EventName = "CoordinatorCallRetry", Level = LogLevel.Warning,
            Message = "{Call} to the coordinator failed (attempt {Attempt}, {StatusCode}: {Detail}); retrying in {DelayMs} ms")]
        public static partial void Retrying(ILogger logger, string call, int attempt, StatusCode statusCode, string detail, double delayMs);

        [LoggerMessage(EventId = 2404, EventName = "CoordinatorForgotHost", Level = LogLevel.Warning,
            Message = "Coordinator does not know this host any more ({Detail}); registering again")]
        public static partial void Forgotten(ILogger logger, string detail);

        [LoggerMessage(EventId = 2405, EventName = "HeartbeatRefused", Level = LogLevel.Warning,
            Message = "Heartbeat refused ({StatusCode}: {Detail}); registering again")]
        public static partial void HeartbeatRefused(ILogger logger, StatusCode statusCode, string detail);
    }
}
