using System.CommandLine;
using Millisampler.Agent.Capture;

var root = new RootCommand("Millisampler agent: fine-grained per-host traffic sampling with eBPF.")
{
    CaptureCommand.Create(),
};
return await root.Parse(args).InvokeAsync().ConfigureAwait(false);
