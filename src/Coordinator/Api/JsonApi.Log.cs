namespace Millisampler.Coordinator.Api;

internal static partial class JsonApi
{
    [LoggerMessage(500, LogLevel.Error, "Unhandled error in {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string method, string path);
}
