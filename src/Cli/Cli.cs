using System.CommandLine;
using System.CommandLine.Invocation;
using Millisampler.Analysis.Datasets;
using Millisampler.Cli.Analyze;
using Millisampler.Cli.Captures;
using Millisampler.Cli.Export;
using Millisampler.Cli.Racks;
using Millisampler.Cli.Sweeps;
using Millisampler.Cli.Triggers;

namespace Millisampler.Cli;

/// <summary>
/// The <c>millisampler</c> command line, runnable in-process: every command writes only to the writers it is given,
/// and every failure ends as one <c>error: …</c> line on stderr with an exit code (<see cref="ExitCodes"/>).
/// </summary>
public static class Cli
{
    /// <summary>Runs one command line; returns the exit code.</summary>
    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr) =>
        RunAsync(args, new CliEnvironment(stdout, stderr), CancellationToken.None);

    /// <summary>Runs one command line; cancelling <paramref name="cancellationToken"/> is Ctrl-C (exit 130).</summary>
    public static async Task<int> RunAsync(string[] args, CliEnvironment env, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(env);
        RootCommand root = CreateRoot(env);
        ParseResult parsed = root.Parse(args);
        if (parsed.Action is ParseErrorAction)
        {
            // The first error is the one to fix; the rest often follow from it.
            string message = parsed.Errors.Count > 0 ? parsed.Errors[0].Message : "bad command line";
            if (parsed.CommandResult.Command.Subcommands.Count > 0 && parsed.CommandResult.Command.Action is null
                && parsed.Errors.All(e => e.Message.Contains("command", StringComparison.OrdinalIgnoreCase)))
            {
                string name = parsed.CommandResult.Command == root ? "millisampler" : $"millisampler {parsed.CommandResult.Command.Name}";
                message = $"{name}: a command is required: {string.Join(", ", parsed.CommandResult.Command.Subcommands.Select(c => c.Name))} (see --help)";
            }

            return Fail(env, message, ExitCodes.Usage);
        }

        var invocation = new InvocationConfiguration
        {
            Output = env.Stdout,
            Error = env.Stderr,
            EnableDefaultExceptionHandler = false,

            // Ctrl-C is the caller's: Program turns it into cancellationToken, so commands can say what was left running.
            ProcessTerminationTimeout = null,
        };

        try
        {
            return await parsed.InvokeAsync(invocation, cancellationToken).ConfigureAwait(false);
        }
        catch (CliException e)
        {
            return Fail(env, e.Message, e.ExitCode);
        }
        catch (DatasetFormatException e)
        {
            return Fail(env, e.Message, ExitCodes.Failed);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return Fail(env, "interrupted", ExitCodes.Interrupted);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Fail(env, e.Message, ExitCodes.Failed);
        }
        catch (Exception e)
        {
            // A bug, not an input problem: still one line, with the type to search for.
            return Fail(env, $"unexpected {e.GetType().Name}: {e.Message}", ExitCodes.Failed);
        }
    }

    /// <summary>The command tree.</summary>
    internal static RootCommand CreateRoot(CliEnvironment env) =>
        new("millisampler: rack-wide millisecond traffic captures (SyncMillisampler) and their analysis")
        {
            CaptureCommand.Create(env),
            RacksCommand.Create(env),
            CapturesCommand.Create(env),
            ExportCommand.Create(env),
            AnalyzeCommand.Create(env),
            SweepsCommand.Create(env),
            TriggersCommand.Create(env),
            Report.ReportCommand.Create(env),
            Completion.CompletionCommand.Create(env),
        };

    private static int Fail(CliEnvironment env, string message, int exitCode)
    {
        env.Stderr.WriteLine("error: " + message);
        env.Stderr.Flush();
        return exitCode;
    }
}
