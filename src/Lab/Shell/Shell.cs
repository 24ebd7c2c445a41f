using System.Diagnostics;
using System.Text;

namespace Millisampler.Lab;

/// <summary>Output of a finished external command.</summary>
public sealed record CommandResult(string CommandLine, int ExitCode, string StdOut, string StdErr);

/// <summary>An external command failed: non-zero exit, timeout, or it could not start.</summary>
public sealed class CommandFailedException : Exception
{
    public CommandFailedException(string commandLine, int exitCode, string stdErr, Exception? inner = null)
        : base($"Command failed (exit {exitCode}): {commandLine}{(stdErr.Length > 0 ? Environment.NewLine + stdErr.TrimEnd() : "")}", inner)
    {
        CommandLine = commandLine;
        ExitCode = exitCode;
        StdErr = stdErr;
    }

    /// <summary>The command line as run, arguments quoted where needed.</summary>
    public string CommandLine { get; }

    /// <summary>Exit code; -1 when the process did not finish (timeout, start failure).</summary>
    public int ExitCode { get; }

    public string StdErr { get; }
}

/// <summary>Runs ip, tc, nft, ethtool and friends. Every failure throws with the command line and stderr.</summary>
public static class Shell
{
    /// <summary>Default bound on one command's run time.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Runs <paramref name="file"/> with <paramref name="args"/>; throws <see cref="CommandFailedException"/> unless it exits 0.</summary>
    public static async Task<CommandResult> RunAsync(
        string file,
        IReadOnlyList<string> args,
        string? stdin = null,
        TimeSpan? timeout = null,
        CancellationToken cancellationToken = default)
    {
        var result = await TryRunAsync(file, args, stdin, timeout, cancellationToken).ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            var err = result.StdErr.Length > 0 ? result.StdErr : result.StdOut;
            if (stdin is not null)
            {
                err += Environment.NewLine + "stdin was:" + Environment.NewLine + stdin;
            }
            throw new CommandFailedException(result.CommandLine, result.ExitCode, err);
        }
        return result;
    }

    /// <summary>Runs a command and returns its result whatever the exit code; throws only when it cannot start or times out.</summary>
    public static async Task<CommandResult> TryRunAsync(
        string file,
        IReadOnlyList<string> args,
        string? stdin = null,
        TimeSpan? timeout = null,
        CancellationToken cancellationToken = default)
    {
        var commandLine = Format(file, args);
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var process = new Process { StartInfo = psi };
        try
        {
            process.Start();
        }
        catch (Exception e)
        {
            throw new CommandFailedException(commandLine, -1, e.Message, e);
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout ?? DefaultTimeout);
        try
        {
            var stdoutTask = process.StandardOutput.ReadToEndAsync(deadline.Token);
            var stderrTask = process.StandardError.ReadToEndAsync(deadline.Token);
            if (stdin is not null)
            {
                await process.StandardInput.WriteAsync(stdin.AsMemory(), deadline.Token).ConfigureAwait(false);
                process.StandardInput.Close();
            }
            await process.WaitForExitAsync(deadline.Token).ConfigureAwait(false);
            var stdout = await stdoutTask.ConfigureAwait(false);
            var stderr = await stderrTask.ConfigureAwait(false);
            return new CommandResult(commandLine, process.ExitCode, stdout, stderr);
        }
        catch (OperationCanceledException e)
        {
            KillQuietly(process);
            if (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            throw new CommandFailedException(commandLine, -1, $"timed out after {(timeout ?? DefaultTimeout).TotalSeconds:0.#} s", e);
        }
    }

    /// <summary>Formats a command line for messages, quoting arguments that contain spaces or quotes.</summary>
    public static string Format(string file, IEnumerable<string> args)
    {
        var sb = new StringBuilder(file);
        foreach (var a in args)
        {
            sb.Append(' ');
            if (a.Length == 0 || a.Any(c => char.IsWhiteSpace(c) || c is '"' or '\'' or '\\' or ';'))
            {
                sb.Append('\'').Append(a.Replace("'", "'\\''", StringComparison.Ordinal)).Append('\'');
            }
            else
            {
                sb.Append(a);
            }
        }
        return sb.ToString();
    }

    private static void KillQuietly(Process process)
    {
        try
        {
            // Only the process this call started, never a name match.
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Already exited.
        }
    }
}
