using System.Diagnostics;
using System.Globalization;
using Millisampler.Analysis;

namespace Millisampler.Benchmarks;

/// <summary>
/// How rack analysis scales with hosts and bins: a grid of seeded synthetic racks (bursty, with a shared incast
/// schedule), each analysed on one thread and on every core, side by side in one run.
/// Options: --grid 92x2000,2000x20000,... (hosts x bins), --iterations N (default 5), --seed N.
/// Prints wall and CPU time (medians), bytes the analysis allocated, the input series' size, and the ratio
/// (input + allocated) / input: an upper bound on peak memory relative to the input.
/// </summary>
public static class AnalysisScaleBenchmark
{
    private const string DefaultGrid = "92x2000,92x20000,92x200000,2000x2000,2000x20000";

    /// <summary>Runs the grid and prints one markdown table.</summary>
    public static int Run(string[] args)
    {
        string grid = BenchArgs.String(args, "--grid", DefaultGrid);
        int iterations = BenchArgs.Int(args, "--iterations", 5);
        int seed = BenchArgs.Int(args, "--seed", 42);
        const long BinWidthNs = 1_000_000;

        Console.WriteLine($"cores: {Environment.ProcessorCount}; median of {iterations}, after one warm-up");
        Console.WriteLine("| hosts × bins | input series | 1 thread | all cores | ratio | CPU time, 1 thread / all cores | allocated (all cores) | (input + allocated) / input | bursts | events |");
        Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (string cell in grid.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            string[] hb = cell.Split('x');
            if (hb.Length != 2 || !int.TryParse(hb[0], out int hosts) || !int.TryParse(hb[1], out int bins) || hosts < 1 || bins < 1)
            {
                Console.Error.WriteLine($"--grid: '{cell}' is not HOSTSxBINS, e.g. 92x2000");
                return 2;
            }

            HostSeries[] rack = BuildRack(new Random(seed), hosts, bins, BinWidthNs);
            long inputBytes = (long)hosts * bins * ((3 * sizeof(ulong)) + sizeof(uint));
            var serial = new AnalysisOptions(MaxParallelism: 1);
            var parallel = new AnalysisOptions();

            RackAnalysis a1 = RackAnalyzer.Analyze(rack, BinWidthNs, serial);
            RackAnalysis a2 = RackAnalyzer.Analyze(rack, BinWidthNs, parallel);
            if (a1.Bursts.Count != a2.Bursts.Count || a1.Events.Count != a2.Events.Count)
            {
                Console.Error.WriteLine($"{cell}: one thread and all cores disagree ({a1.Bursts.Count} vs {a2.Bursts.Count} bursts)");
                return 1;
            }

            // Interleaved: serial, parallel, serial, parallel ... so load changes hit both alike.
            var ms1 = new double[iterations];
            var msN = new double[iterations];
            var cpu1 = new double[iterations];
            var cpuN = new double[iterations];
            long allocated = 0;
            for (int i = 0; i < iterations; i++)
            {
                ms1[i] = Time(() => RackAnalyzer.Analyze(rack, BinWidthNs, serial), out _, out cpu1[i]);
                msN[i] = Time(() => RackAnalyzer.Analyze(rack, BinWidthNs, parallel), out long bytes, out cpuN[i]);
                allocated = Math.Max(allocated, bytes);
            }

            Array.Sort(ms1);
            Array.Sort(msN);
            Array.Sort(cpu1);
            Array.Sort(cpuN);
            double m1 = ms1[iterations / 2], mN = msN[iterations / 2];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {hosts:N0} × {bins:N0} | {Mib(inputBytes)} | {m1:F1} ms | {mN:F1} ms | {m1 / mN:F2} × | {cpu1[iterations / 2]:F0} / {cpuN[iterations / 2]:F0} ms | {Mib(allocated)} | " +
                $"{(double)(inputBytes + allocated) / inputBytes:F3} | {a2.Bursts.Count:N0} | {a2.Events.Count:N0} |"));
            rack = [];
            GC.Collect();
        }

        return 0;
    }

    /// <summary>Wall time, ms; also the bytes allocated and the process's CPU time (which a busy machine disturbs less).</summary>
    private static double Time(Func<RackAnalysis> analyze, out long allocatedBytes, out double cpuMs)
    {
        GC.Collect();
        using var self = Process.GetCurrentProcess();
        TimeSpan cpuBefore = self.TotalProcessorTime;
        long before = GC.GetTotalAllocatedBytes(precise: true);
        long start = Stopwatch.GetTimestamp();
        analyze();
        double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        allocatedBytes = GC.GetTotalAllocatedBytes(precise: true) - before;
        self.Refresh();
        cpuMs = (self.TotalProcessorTime - cpuBefore).TotalMilliseconds;
        return ms;
    }

    private static string Mib(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024):F1} MiB");

    /// <summary>
    /// A rack like <see cref="AnalysisBenchmark.BuildRack"/>'s (40% of hosts follow a shared incast schedule, 1%
    /// random busy bins, busy bins at 50–100% of line rate, quiet ones under 30%), built straight into the
    /// analysis input.
    /// </summary>
    private static HostSeries[] BuildRack(Random rng, int hosts, int bins, long binWidthNs)
    {
        const double LinkSpeed = 12.5e9;
        double lineRateBytes = LinkSpeed * binWidthNs / 1e9 / 8;
        var incast = new bool[bins];
        for (int b = 0; b < bins; b++)
        {
            incast[b] = rng.NextDouble() < 0.03 || (b > 0 && incast[b - 1] && rng.NextDouble() < 0.6);
        }

        var rack = new HostSeries[hosts];
        for (int h = 0; h < hosts; h++)
        {
            var ingress = new ulong[bins];
            var ce = new ulong[bins];
            var retransmit = new ulong[bins];
            var connections = new uint[bins];
            bool member = rng.NextDouble() < 0.4;
            for (int b = 0; b < bins; b++)
            {
                bool busy = (member && incast[b] && rng.NextDouble() < 0.8) || rng.NextDouble() < 0.01;
                double u = busy ? 0.5 + (rng.NextDouble() * 0.5) : rng.NextDouble() * 0.3;
                ingress[b] = (ulong)(u * lineRateBytes);
                ce[b] = busy && rng.NextDouble() < 0.3 ? (ulong)(rng.NextDouble() * ingress[b] / 4) : 0;
                retransmit[b] = busy && rng.NextDouble() < 0.05 ? (ulong)rng.Next(1448, 14480) : 0;
                connections[b] = (uint)rng.Next(1, busy ? 300 : 30);
            }

            rack[h] = new HostSeries($"host{h:D4}", LinkSpeed, rng.Next(0, 100_000), bins, ingress, ce, retransmit, connections);
        }

        return rack;
    }
}
