namespace Millisampler.Coordinator.Api;

internal static partial class JsonApi
{
    [LoggerMessage(500, LogLevel.Error, "Unhandled error in {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string method, string path);

    [LoggerMessage(702, LogLevel.Warning, "Alertmanager delivery from {Caller} refused: {Problem}", EventName = "AlertDeliveryRefused")]
    private static partial void LogAlertDeliveryRefused(ILogger logger, string caller, string problem);
}
