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

var hostsOption = new Option<int>("--hosts") { Description = "Hosts on the ToR bridge (2..50).", DefaultValueFactory = _ => 6 };
var intervalOption = new Option<string>("--interval") { Description = "Bin width of the capture: 100us, 1ms, 10ms.", DefaultValueFactory = _ => "1ms" };
var samplesOption = new Option<int>("--samples") { Description = "Bins in the capture (1..2000).", DefaultValueFactory = _ => 2000 };
var demo = new Command("demo", "Build a rack in namespaces, run agents and a coordinator, capture an incast, print the analysis, clean up.");
demo.Options.Add(hostsOption);
demo.Options.Add(intervalOption);
demo.Options.Add(samplesOption);
demo.SetAction(async (parseResult, ct) =>
{
    int hosts = parseResult.GetValue(hostsOption);
    int samples = parseResult.GetValue(samplesOption);
    string interval = parseResult.GetValue(intervalOption)!;
    if (hosts is < 4 or > 50 || samples is < 10 or > 2000)
    {
        Console.Error.WriteLine("error: --hosts must be 4..50 and --samples 10..2000.");
        return 2;
    }
    try
    {
        RackDemo.ParseDurationNs(interval);
        return await RackDemo.RunAsync(new RackDemoOptions { Hosts = hosts, Samples = samples, Interval = interval }, Console.Out, ct);
    }
    catch (OperationCanceledException)
    {
        Console.Error.WriteLine("interrupted; everything the demo built has been removed.");
        return 130;
    }
    catch (Exception e) when (e is InvalidOperationException or TimeoutException or ArgumentException or CommandFailedException or HttpRequestException or IOException)
    {
        Console.Error.WriteLine($"error: {e.Message}");
        return 1;
    }
});

var root = new RootCommand("Millisampler lab: test networks and traffic in network namespaces on one machine.");
root.Subcommands.Add(cleanup);
root.Subcommands.Add(demo);
return await root.Parse(args).InvokeAsync();
