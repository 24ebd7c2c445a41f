namespace Millisampler.Analysis.Tests;

/// <summary>
/// Wall-clock bounds: run alone, not beside other test classes, so a 2-core machine measures the code under test.
/// The bounds are the requirements (analysis well under 100 ms, reading well under 1 s); the benchmark
/// (bench/Millisampler.Benchmarks AnalysisBenchmark) shows the actual margin.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TimingCollection
{
    public const string Name = "Timing";
}
