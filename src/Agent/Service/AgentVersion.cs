using System.Reflection;

namespace Millisampler.Agent.Service;

/// <summary>The agent's version as it reports it in GetInfo and at registration.</summary>
internal static class AgentVersion
{
    /// <summary>The informational version of the agent assembly (version plus source revision when built from git).</summary>
    public static string Text { get; } =
        typeof(AgentVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(AgentVersion).Assembly.GetName().Version?.ToString()
        ?? "unknown";
}
