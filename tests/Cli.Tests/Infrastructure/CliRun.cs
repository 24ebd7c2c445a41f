using Microsoft.Extensions.Time.Testing;

namespace Millisampler.Cli.Tests.Infrastructure;

/// <summary>What one in-process run of the CLI printed and returned.</summary>
public sealed record CliResult(int ExitCode, string Stdout, string Stderr);

/// <summary>Runs <c>millisampler</c> in-process with captured output, no environment variables and a fixed clock.</summary>
public static class CliRun
{
    /// <summary>The fixed "now" of every run: 2025-11-22 15:00:00 UTC.</summary>
    public static readonly DateTimeOffset Now = new(2025, 11, 22, 15, 0, 0, TimeSpan.Zero);

    public static Task<CliResult> RunAsync(params string[] args) => RunAsync(CancellationToken.None, args);

    public static async Task<CliResult> RunAsync(CancellationToken cancellationToken, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var env = new CliEnvironment(stdout, stderr, GetEnvironmentVariable: _ => null, Time: new FakeTimeProvider(Now));
        int code = await Cli.RunAsync(args, env, cancellationToken);
        return new CliResult(code, stdout.ToString(), stderr.ToString());
    }
}
