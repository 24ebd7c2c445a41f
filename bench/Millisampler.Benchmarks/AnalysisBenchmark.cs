using System.Diagnostics;
using System.Globalization;
using Millisampler.Analysis;
using Millisampler.Analysis.Datasets;

namespace Millisampler.Benchmarks;

/// <summary>
/// Rack analysis and data-set reading on a Meta-sized rack (92 hosts × 2,000 bins of 1 ms, 12.5 Gbit/s links).
/// Options: --iterations N (default 200), --warmup N (default 20), --hosts N, --bins N, --seed N.
/// </summary>
public static class AnalysisBenchmark
{
    /// <summary>Runs both measurements and prints median, p99 and allocated bytes per operation.</summary>
    public static int Run(string[] args)
    {
        int iterations = BenchArgs.Int(args, "--iterations", 200);
        int warmup = BenchArgs.Int(args, "--warmup", 20);
        int hosts = BenchArgs.Int(args, "--hosts", 92);
        int bins = BenchArgs.Int(args, "--bins", 2000);
        int seed = BenchArgs.Int(args, "--seed", 42);
        const long BinWidthNs = 1_000_000;
        const double LinkSpeed = 12.5e9;

        MetaHostFile[] files = BuildRack(new Random(seed), hosts, bins, BinWidthNs, LinkSpeed);
        MetaRack rack = MetaDataset.ToRack(files, 0, null);
        var options = new AnalysisOptions();
        RackAnalysis sample = RackAnalyzer.Analyze(rack.Hosts, rack.BinWidthNs, options);
        Console.WriteLine($"rack: {hosts} hosts x {bins} bins of {BinWidthNs / 1e6} ms; " +
            $"{sample.Bursts.Count} bursts, {sample.Events.Count} events, max contention {sample.ContentionLevels.Count - 1}");

        // Analysis runs on the calling thread, so the current thread's allocation counter is exact.
        Measure("analyze", warmup, iterations, GC.GetAllocatedBytesForCurrentThread,
            () => RackAnalyzer.Analyze(rack.Hosts, rack.BinWidthNs, options));

        string dir = Directory.CreateTempSubdirectory("ms-bench-dataset-").FullName;
        try
        {
            foreach (MetaHostFile f in files)
            {
                MetaDataset.Write(Path.Combine(dir, MetaDataset.DefaultFileName(f)), f);
            }

            long onDisk = Directory.GetFiles(dir).Sum(p => new FileInfo(p).Length);
            Console.WriteLine($"data set: {files.Length} gzip files, {onDisk / 1024} KiB on disk");

            // ReadDirectory parses files in parallel: count every thread's allocations.
            Measure("read-directory", Math.Max(1, warmup / 10), Math.Max(5, iterations / 10),
                () => GC.GetTotalAllocatedBytes(precise: true), () => MetaDataset.ReadDirectory(dir));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }

        return 0;
    }

    private static void Measure(string name, int warmup, int iterations, Func<long> allocated, Func<object> operation)
    {
        for (int i = 0; i < warmup; i++)
        {
            operation();
        }

        var ms = new double[iterations];
        long bytes = 0;
        for (int i = 0; i < iterations; i++)
        {
            long before = allocated();
            long start = Stopwatch.GetTimestamp();
            operation();
            ms[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            bytes += allocated() - before;
        }

        Array.Sort(ms);
        double median = ms[ms.Length / 2];
        double p99 = ms[Math.Min(ms.Length - 1, (int)Math.Ceiling(ms.Length * 0.99) - 1)];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name,-15} n={iterations,4}  median {median,8:F3} ms  p99 {p99,8:F3} ms  allocated {bytes / iterations,12:N0} B/op"));
    }

    internal static MetaHostFile[] BuildRack(Random rng, int hosts, int bins, long binWidthNs, double linkSpeed)
    {
        double lineRateBytes = linkSpeed * binWidthNs / 1e9 / 8;

        // A shared "incast" schedule makes bursts line up across hosts, as synchronized traffic does.
        var incast = new bool[bins];
        for (int b = 0; b < bins; b++)
        {
            incast[b] = rng.NextDouble() < 0.03 || (b > 0 && incast[b - 1] && rng.NextDouble() < 0.6);
        }

        var files = new MetaHostFile[hosts];
        for (int h = 0; h < hosts; h++)
        {
            var ingress = new ulong[bins];
            var egress = new ulong[bins];
            var inRx = new ulong[bins];
            var outRx = new ulong[bins];
            var ce = new ulong[bins];
            var conn = new ulong[bins];
            bool member = rng.NextDouble() < 0.4;
            for (int b = 0; b < bins; b++)
            {
                bool busy = (member && incast[b] && rng.NextDouble() < 0.8) || rng.NextDouble() < 0.01;
                double u = busy ? 0.5 + rng.NextDouble() * 0.5 : rng.NextDouble() * 0.3;
                ingress[b] = (ulong)(u * lineRateBytes);
                egress[b] = (ulong)(rng.NextDouble() * 0.2 * lineRateBytes);
                ce[b] = busy && rng.NextDouble() < 0.3 ? (ulong)(rng.NextDouble() * ingress[b] / 4) : 0;
                inRx[b] = busy && rng.NextDouble() < 0.05 ? (ulong)rng.Next(1448, 14480) : 0;
                outRx[b] = rng.NextDouble() < 0.01 ? (ulong)rng.Next(1448, 14480) : 0;
                conn[b] = (ulong)rng.Next(1, busy ? 300 : 30);
            }

            files[h] = new MetaHostFile($"host{h:D3}", "rack-bench", binWidthNs / 1e6, ingress, egress, inRx, outRx, ce, conn,
                BinWidthNs: binWidthNs, Bins: bins, BinsRecorded: bins, LinkSpeedBitsPerSecond: linkSpeed,
                ClockErrorNs: rng.Next(0, 100_000));
        }

        return files;
    }
}
