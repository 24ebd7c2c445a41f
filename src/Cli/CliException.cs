namespace Millisampler.Cli;

/// <summary>Exit codes of <c>millisampler</c>.</summary>
public static class ExitCodes
{
    /// <summary>Done.</summary>
    public const int Ok = 0;

    /// <summary>The coordinator, a data set or the file system failed, or a capture failed.</summary>
    public const int Failed = 1;

    /// <summary>Bad command line.</summary>
    public const int Usage = 2;

    /// <summary>Interrupted (Ctrl-C): 128 + SIGINT, as shells report it.</summary>
    public const int Interrupted = 130;
}

/// <summary>A failure reported as one line, <c>error: message</c>, with an exit code; never a stack trace.</summary>
public class CliException(string message, int exitCode = ExitCodes.Failed) : Exception(message)
{
    /// <summary>Process exit code.</summary>
    public int ExitCode { get; } = exitCode;
}

/// <summary>Bad input on the command line: exit code 2.</summary>
public sealed class UsageException(string message) : CliException(message, ExitCodes.Usage);
