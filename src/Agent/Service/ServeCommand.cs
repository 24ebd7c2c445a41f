using System.CommandLine;

namespace Millisampler.Agent.Service;

/// <summary>`millisampler-agent serve` (also the default without a command): the long-running agent.</summary>
internal static class ServeCommand
{
    private const string Description =
        "Run the agent: gRPC AgentService, continuous schedule, registration with a coordinator. " +
        "Settings as --Agent:Key=value (e.g. --Agent:Interfaces:0=eth0 --Agent:Rack=r1), appsettings.json or environment (Agent__Key); --urls overrides Agent:Listen.";

    public static Command Create()
    {
        var command = new Command("serve", Description) { TreatUnmatchedTokensAsErrors = false };
        command.SetAction(RunAsync);
        return command;
    }

    /// <summary>Makes serving what the root command does when no command is named.</summary>
    public static void MakeDefault(RootCommand root)
    {
        root.TreatUnmatchedTokensAsErrors = false;
        root.SetAction(RunAsync);
    }

    /// <summary>True when <paramref name="parse"/> runs the agent (serve, or no command).</summary>
    public static bool Serves(ParseResult parse) => parse.CommandResult.Command is RootCommand || parse.CommandResult.Command.Name == "serve";

    private static async Task<int> RunAsync(ParseResult parse)
    {
        var tokens = parse.UnmatchedTokens.ToArray();
        // Configuration switches start with '-' (or '/'); a bare word is a mistyped command, not a setting.
        var stray = tokens.Where((t, i) => !t.StartsWith('-') && !t.StartsWith('/') && (i == 0 || !tokens[i - 1].StartsWith('-') || tokens[i - 1].Contains('=', StringComparison.Ordinal))).ToList();
        if (stray.Count > 0)
        {
            await Console.Error.WriteLineAsync($"millisampler-agent: unknown command or argument '{stray[0]}' (commands: serve, capture; settings as --Agent:Key=value)").ConfigureAwait(false);
            return AgentApp.ExitBadConfiguration;
        }
        return await AgentApp.RunAsync(tokens).ConfigureAwait(false);
    }
}
