using Millisampler.Cli;

// Ctrl-C cancels the command (exit 130); a second Ctrl-C ends the process at once.
using var interrupted = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    if (!interrupted.IsCancellationRequested)
    {
        e.Cancel = true;
        interrupted.Cancel();
    }
};

var env = new CliEnvironment(Console.Out, Console.Error,
    StdoutIsTerminal: !Console.IsOutputRedirected, StderrIsTerminal: !Console.IsErrorRedirected);
return await Cli.RunAsync(args, env, interrupted.Token);
