namespace Millisampler.Coordinator.Api;

/// <summary>Who is calling, as rate limits and capture records name them: one function for gRPC and JSON.</summary>
public static class CallerIdentity
{
    /// <summary>
    /// The authenticated caller's name when authentication produced one (certificate or token subject);
    /// otherwise <c>peer:</c> and the remote IP address (no port: every connection of one machine is one caller).
    /// </summary>
    public static string Of(HttpContext http)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (http.User.Identity is { IsAuthenticated: true, Name: { Length: > 0 } name })
        {
            return name;
        }

        return http.Connection.RemoteIpAddress is { } ip ? $"peer:{ip}" : "peer:unknown";
    }
}
