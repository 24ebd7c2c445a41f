using System.CommandLine;

namespace Millisampler.Cli.Completion;

/// <summary>
/// <c>completion bash|zsh</c>: prints a shell script that completes millisampler's commands and options. The script
/// asks the program itself through System.CommandLine's <c>[suggest:POSITION]</c> directive (the one dotnet-suggest
/// uses), so completions always match the installed version's command tree and nothing else has to be installed.
/// </summary>
internal static class CompletionCommand
{
    /// <summary>The shells a script is written for.</summary>
    public static readonly string[] Shells = ["bash", "zsh"];

    public static Command Create(CliEnvironment env)
    {
        Argument<string> shell = new("SHELL") { Description = "bash or zsh" };
        shell.AcceptOnlyFromAmong(Shells);
        var command = new Command("completion", "Print a bash or zsh completion script: source <(millisampler completion bash)") { shell };
        command.SetAction(r =>
        {
            env.Stdout.Write(Script(r.GetValue(shell)!));
            env.Stdout.Flush();
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>The script for <paramref name="shell"/> (bash or zsh).</summary>
    public static string Script(string shell) => shell switch
    {
        "bash" => Bash,
        "zsh" => Zsh,
        _ => throw new ArgumentOutOfRangeException(nameof(shell), shell, "bash or zsh"),
    };

    // COMP_LINE up to the cursor is the command line; its length is the position the directive completes at. The
    // directive suggests every name that contains the word; bash offers only those that start with it.
    private const string Bash = """
        # bash completion for millisampler. Load it in the current shell:
        #   source <(millisampler completion bash)
        # or install it:  millisampler completion bash > /etc/bash_completion.d/millisampler
        _millisampler_complete() {
            local line="${COMP_LINE:0:COMP_POINT}" cur="${COMP_WORDS[COMP_CWORD]}" s
            local -a all
            mapfile -t all < <(command "${COMP_WORDS[0]}" "[suggest:${#line}]" "$line" 2>/dev/null)
            COMPREPLY=()
            for s in "${all[@]}"; do
                [[ "$s" == "$cur"* ]] && COMPREPLY+=("$s")
            done
            return 0
        }
        complete -o default -o nosort -F _millisampler_complete millisampler

        """;

    // words[1,CURRENT] joined by blanks is the line up to the word being completed.
    private const string Zsh = """
        #compdef millisampler
        # zsh completion for millisampler. Load it in the current shell:
        #   source <(millisampler completion zsh)
        # or install it as _millisampler in a directory of $fpath.
        _millisampler() {
            local line="${(j: :)words[1,CURRENT]}"
            local -a suggestions
            suggestions=("${(@f)$(command "${words[1]}" "[suggest:${#line}]" "$line" 2>/dev/null)}")
            compadd -Q -- "${suggestions[@]}"
        }
        if [[ "${zsh_eval_context[-1]}" == loadautofunc ]]; then
            _millisampler "$@"
        else
            compdef _millisampler millisampler
        fi

        """;
}
