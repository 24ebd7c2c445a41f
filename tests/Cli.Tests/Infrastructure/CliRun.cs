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
        var time = new FakeTimeProvider(Now);

        // TAI − UTC is 37 s: the TAI clock reads 2025-11-22 15:00:37.000 at Now.
        var env = new CliEnvironment(stdout, stderr, GetEnvironmentVariable: _ => null, Time: time, Tai: new Common.Time.TimeProviderTaiClock(time, 37));
        int code = await Cli.RunAsync(args, env, cancellationToken);
        return new CliResult(code, stdout.ToString(), stderr.ToString());
    }
}
