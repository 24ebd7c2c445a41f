using System.Diagnostics;
using Millisampler.Analysis.Datasets;
using Millisampler.Analysis.Tests.Datasets;

namespace Millisampler.Analysis.Tests;

[Collection(TimingCollection.Name)]
public sealed class TimingTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("ms-timing-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Analyze_92HostsBy2000Bins_TakesUnder100Ms()
    {
        HostSeries[] rack = TestRacks.Random(new Random(92), hosts: 92, bins: 2000);

        double best = BestOf(10, () => RackAnalyzer.Analyze(rack, TestRacks.BinWidthNs, new AnalysisOptions()));

        Assert.True(best < 100, $"best of 10 took {best:F1} ms");
    }

    [Fact]
    public void ReadDirectory_92HostsOf2000Samples_TakesUnderASecond()
    {
        var rng = new Random(7);
        for (int h = 0; h < 92; h++)
        {
            MetaHostFile f = MetaDatasetTests.RandomFile(rng, $"host{h:D3}", "rack-1", 2000);
            MetaDataset.Write(Path.Combine(_dir, MetaDataset.DefaultFileName(f)), f);
        }

        double best = BestOf(5, () => Assert.Equal(92, MetaDataset.ReadDirectory(_dir).Count));

        Assert.True(best < 1000, $"best of 5 took {best:F0} ms");
    }

    // Best of several runs after a warm-up (JIT): robust to a busy machine, still catches an algorithmic regression.
    private static double BestOf(int runs, Action action)
    {
        action();
        double best = double.MaxValue;
        for (int i = 0; i < runs; i++)
        {
            long start = Stopwatch.GetTimestamp();
            action();
            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }

        return best;
    }
}
