using Millisampler.Benchmarks;

// Each benchmark prints markdown that docs/benchmarks.md quotes, with this command line.
var benchmarks = new Dictionary<string, Func<string[], int>>(StringComparer.OrdinalIgnoreCase)
{
    ["sampler"] = SamplerBenchmark.Run,
    ["analysis"] = AnalysisBenchmark.Run,
    ["analysis-scale"] = AnalysisScaleBenchmark.Run,
    ["store"] = StoreBenchmark.Run,
    ["coordinator"] = CoordinatorBenchmark.Run,
    ["agent"] = AgentBenchmark.Run,
    ["trends"] = SweepTrendBenchmark.Run,
    ["throughput"] = ThroughputBenchmark.Run,
    ["fleet"] = FleetBenchmark.Run,
    ["fleet-agents"] = FleetBenchmark.RunAgents,
    ["render"] = RenderBenchmark.Run,
    ["triggers"] = TriggerBenchmark.Run,
};
if (args.Length == 0 || !benchmarks.TryGetValue(args[0], out var run))
{
    Console.Error.WriteLine($"usage: dotnet run -c Release --project bench/Millisampler.Benchmarks -- <{string.Join('|', benchmarks.Keys)}> [options]");
    return 2;
}
return run(args[1..]);
