namespace Millisampler.Cli;

/// <summary>What a command may touch of the outside world, so tests run commands in-process.</summary>
/// <param name="Stdout">Results.</param>
/// <param name="Stderr">Errors, and progress when stdout carries JSON.</param>
/// <param name="StdoutIsTerminal">Stdout is an interactive terminal: colours, borders and live progress.</param>
/// <param name="StderrIsTerminal">Stderr is an interactive terminal.</param>
/// <param name="GetEnvironmentVariable">Environment lookup (MILLISAMPLER_COORDINATOR, MILLISAMPLER_CERT, _KEY, _CA, _TOKEN_FILE).</param>
/// <param name="Time">Clock for "--since 1h" and for timestamps.</param>
/// <param name="Tai">TAI clock for a running capture's bins elapsed and time left [default: the system's].</param>
public sealed record CliEnvironment(
    TextWriter Stdout,
    TextWriter Stderr,
    bool StdoutIsTerminal = false,
    bool StderrIsTerminal = false,
    Func<string, string?>? GetEnvironmentVariable = null,
    TimeProvider? Time = null,
    Millisampler.Common.Time.TaiClock? Tai = null)
{
    /// <summary>The environment variable naming the coordinator when --coordinator is not given.</summary>
    public const string CoordinatorVariable = "MILLISAMPLER_COORDINATOR";

    /// <summary>The coordinator's gRPC address when neither --coordinator nor the variable is set.</summary>
    public const string DefaultCoordinator = "https://127.0.0.1:7400";

    /// <summary>The client certificate (PEM) when --cert is not given.</summary>
    public const string CertificateVariable = "MILLISAMPLER_CERT";

    /// <summary>Its private key (PEM) when --key is not given.</summary>
    public const string KeyVariable = "MILLISAMPLER_KEY";

    /// <summary>The CA bundle (PEM) when --ca is not given.</summary>
    public const string CaVariable = "MILLISAMPLER_CA";

    /// <summary>The bearer-token file when --token-file is not given.</summary>
    public const string TokenFileVariable = "MILLISAMPLER_TOKEN_FILE";

    /// <summary>The clock in use.</summary>
    public TimeProvider Clock => Time ?? TimeProvider.System;

    /// <summary>The TAI clock in use.</summary>
    public Millisampler.Common.Time.TaiClock TaiClock => Tai ?? Millisampler.Common.Time.TaiClock.System;

    /// <summary>Looks up an environment variable.</summary>
    public string? Variable(string name) => (GetEnvironmentVariable ?? Environment.GetEnvironmentVariable)(name);
}
