using System.CommandLine;
using Millisampler.Lab;

var prefixOption = new Option<string>("--prefix")
{
    Description = "Delete namespaces whose names start with this (must start with 'ms-').",
    DefaultValueFactory = _ => LabNames.DefaultPrefix,
};
var includeLiveOption = new Option<bool>("--include-live")
{
    Description = "Also delete namespaces of labs whose creating process is still running.",
};

var cleanup = new Command("cleanup", "Delete leftover lab network namespaces (and everything in them).");
cleanup.Options.Add(prefixOption);
cleanup.Options.Add(includeLiveOption);
cleanup.SetAction(parseResult =>
{
    var prefix = parseResult.GetValue(prefixOption)!;
    try
    {
        var deleted = NetworkLab.CleanupStale(prefix, parseResult.GetValue(includeLiveOption));
        foreach (var ns in deleted)
        {
            Console.WriteLine($"deleted {ns}");
        }
        Console.WriteLine($"{deleted.Count} namespace(s) deleted.");
        return 0;
    }
    catch (ArgumentException e)
    {
        Console.Error.WriteLine(e.Message);
        return 2;
    }
});

var root = new RootCommand("Millisampler lab: test networks and traffic in network namespaces on one machine.");
root.Subcommands.Add(cleanup);
return root.Parse(args).Invoke();
