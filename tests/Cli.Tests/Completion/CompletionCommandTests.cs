using System.Diagnostics;
using Millisampler.Cli.Tests.Infrastructure;

namespace Millisampler.Cli.Tests.Completion;

/// <summary>
/// <c>completion bash|zsh</c>: the scripts parse, and each, loaded into a real bash or zsh with the real millisampler
/// executable on PATH, completes a subcommand and an option (zsh also through a real Tab in an interactive shell).
/// </summary>
public class CompletionCommandTests
{
    // The CLI's apphost is copied beside the test assembly (project reference to an executable).
    private static readonly string CliDirectory = AppContext.BaseDirectory;

    private static (int Code, string Stdout, string Stderr) Shell(string shell, string script, params string[] args) =>
        Shell(shell, script, Timeout.InfiniteTimeSpan, args);

    /// <summary>Runs <paramref name="script"/>; a run past <paramref name="limit"/> is killed and reported as exit -1.</summary>
    private static (int Code, string Stdout, string Stderr) Shell(string shell, string script, TimeSpan limit, params string[] args)
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
        if (!p.WaitForExit(limit))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            return (-1, stdout.Result, "killed after " + limit + ": " + stderr.Result);
        }

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
    public async Task Zsh_ScriptParsesAndRegisters_AndCompletesASubcommandAndAnOption()
    {
        Assert.True(File.Exists("/usr/bin/zsh"), "zsh is missing: scripts/setup.sh installs it (Debian's zsh)");
        using var dir = new TempDirectory();
        string script = await ScriptFileAsync(dir, "zsh");

        var syntax = Shell("zsh", "zsh -n \"$1\"", script);
        Assert.True(syntax.Code == 0, syntax.Stderr);

        // The function itself, in a real zsh after compinit: compdef registered it, and with compadd replaced by a
        // printer (compadd works only inside a completion widget) it offers what the CLI suggests.
        const string Complete = """
            autoload -Uz compinit && compinit -u -D
            source "$1"
            print -r -- "registered:${_comps[millisampler]}"
            compadd() { shift ${@[(i)--]}; print -rl -- "$@" }
            words=(${(z)2}); [[ "$2" == *" " ]] && words+=("")
            CURRENT=${#words}
            _millisampler
            """;
        var sub = Shell("zsh", Complete, script, "millisampler captu");
        var option = Shell("zsh", Complete, script, "millisampler captures list --ra");

        Assert.True(sub.Code == 0, sub.Stderr);
        Assert.Equal(["registered:_millisampler", "capture", "captures"], sub.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(["registered:_millisampler", "--rack"], option.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        // A real Tab in an interactive zsh (zsh/zpty, a pseudo-terminal) whose .zshrc loads the script as a user would:
        // "captures li<Tab>" becomes "captures list", then "--ra<Tab>" becomes "--rack". zpty -r -m reads until the
        // pattern shows; the process limit below only keeps a broken completion from hanging the test run.
        await File.WriteAllTextAsync(Path.Combine(dir.Path, ".zshrc"), $"PS1='> '\nautoload -Uz compinit && compinit -u -D\nsource '{script}'\n");
        const string Interactive = """
            zmodload zsh/zpty
            zpty z "ZDOTDIR=$1 zsh -i"
            zpty -w -n z "millisampler captures li"$'\t'
            zpty -r -m z out "*captures list*" && print "completed: list"
            zpty -w -n z "--ra"$'\t'
            zpty -r -m z out "*--rack*" && print "completed: --rack"
            zpty -w -n z $'\x03'
            zpty -d z
            """;
        var tab = Shell("zsh", Interactive, TimeSpan.FromSeconds(120), dir.Path);
        Assert.True(tab.Code == 0, $"exit {tab.Code}: {tab.Stdout} {tab.Stderr}");
        Assert.Equal(["completed: list", "completed: --rack"], tab.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task UnknownShell_IsAUsageError()
    {
        CliResult r = await CliRun.RunAsync("completion", "fish");

        Assert.Equal(ExitCodes.Usage, r.ExitCode);
        Assert.Contains("fish", r.Stderr);
    }
}
