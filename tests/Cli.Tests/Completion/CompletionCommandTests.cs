using System.Diagnostics;
using Millisampler.Cli.Tests.Infrastructure;

namespace Millisampler.Cli.Tests.Completion;

/// <summary>
/// <c>completion bash|zsh</c>: the scripts parse, and the bash one, loaded into a real bash with the real millisampler
/// executable on PATH, completes a subcommand and an option.
/// </summary>
public class CompletionCommandTests
{
    // The CLI's apphost is copied beside the test assembly (project reference to an executable).
    private static readonly string CliDirectory = AppContext.BaseDirectory;

    private static (int Code, string Stdout, string Stderr) Shell(string shell, string script, params string[] args)
    {
        var start = new ProcessStartInfo(shell) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(script);
        start.ArgumentList.Add(shell);
        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["PATH"] = CliDirectory + ":" + Environment.GetEnvironmentVariable("PATH");
        using Process p = Process.Start(start)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    private static async Task<string> ScriptFileAsync(TempDirectory dir, string shell)
    {
        CliResult r = await CliRun.RunAsync("completion", shell);
        Assert.Equal(ExitCodes.Ok, r.ExitCode);
        string path = Path.Combine(dir.Path, "millisampler." + shell);
        await File.WriteAllTextAsync(path, r.Stdout);
        return path;
    }

    [Fact]
    public async Task Bash_ScriptParses_AndCompletesASubcommandAndAnOption()
    {
        using var dir = new TempDirectory();
        string script = await ScriptFileAsync(dir, "bash");
        Assert.True(File.Exists(Path.Combine(CliDirectory, "millisampler")), "the millisampler apphost is beside the tests");

        var syntax = Shell("bash", "bash -n \"$1\"", script);
        Assert.True(syntax.Code == 0, syntax.Stderr);

        const string Complete = """
            source "$1"
            COMP_LINE="$2"; COMP_POINT=${#COMP_LINE}
            read -r -a COMP_WORDS <<< "$COMP_LINE"
            [[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
            COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
            _millisampler_complete
            printf '%s\n' "${COMPREPLY[@]}"
            """;
        var sub = Shell("bash", Complete, script, "millisampler captu");
        var show = Shell("bash", Complete, script, "millisampler captures s");
        var option = Shell("bash", Complete, script, "millisampler captures list --ra");

        Assert.True(sub.Code == 0, sub.Stderr);
        Assert.Equal(["capture", "captures"], sub.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(["show"], show.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(["--rack"], option.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task Zsh_ScriptParses_WhenZshIsInstalled()
    {
        if (!File.Exists("/usr/bin/zsh") && !File.Exists("/bin/zsh"))
        {
            // zsh is not part of the machine's setup; the bash test covers the directive both scripts call.
            Assert.Contains("compdef _millisampler millisampler", (await CliRun.RunAsync("completion", "zsh")).Stdout);
            return;
        }

        using var dir = new TempDirectory();
        string script = await ScriptFileAsync(dir, "zsh");
        var syntax = Shell("zsh", "zsh -n \"$1\"", script);
        Assert.True(syntax.Code == 0, syntax.Stderr);
    }

    [Fact]
    public async Task UnknownShell_IsAUsageError()
    {
        CliResult r = await CliRun.RunAsync("completion", "fish");

        Assert.Equal(ExitCodes.Usage, r.ExitCode);
        Assert.Contains("fish", r.Stderr);
    }
}
