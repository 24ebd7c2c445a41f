using System.CommandLine;
using Millisampler.Agent.Capture;
using Millisampler.Agent.Service;

var root = new RootCommand("Millisampler agent: fine-grained per-host traffic sampling with eBPF.")
{
    CaptureCommand.Create(),
    ServeCommand.Create(),
};
ServeCommand.MakeDefault(root);
var parse = root.Parse(args);
// The agent host handles SIGTERM itself (the armed run is cut short, stored, the programs detached);
// System.CommandLine must not end the process after its own two-second grace.
var invocation = ServeCommand.Serves(parse) ? new InvocationConfiguration { ProcessTerminationTimeout = null } : new InvocationConfiguration();
return await parse.InvokeAsync(invocation).ConfigureAwait(false);
