using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Membership;
using Millisampler.Coordinator.Storage;
using Millisampler.Coordinator.Sweeps;

namespace Millisampler.Benchmarks;

/// <summary>
/// Trend and ranking queries over stored sweep summaries: --racks N (default 100) racks, --days N (default 30) of
/// --per-day N (default 24) sweep captures at each of the three widths, on SQLite and, with --postgres CONNSTRING, on
/// PostgreSQL. Measures loading them and the report queries (fleet report per day: trends of every rack and width
/// plus both rankings; one rack per hour with its past), --repeat N (default 10) times each.
/// </summary>
public static class SweepTrendBenchmark
{
    private static readonly long[] Widths = [100_000, 1_000_000, 10_000_000];

    public static int Run(string[] args) => RunAsync(args).GetAwaiter().GetResult();

    private static async Task<int> RunAsync(string[] args)
    {
        int racks = BenchArgs.Int(args, "--racks", 100);
        int days = BenchArgs.Int(args, "--days", 30);
        int perDay = BenchArgs.Int(args, "--per-day", 24);
        int repeat = BenchArgs.Int(args, "--repeat", 10);
        int i = Array.IndexOf(args, "--postgres");
        string? postgres = i >= 0 && i + 1 < args.Length ? args[i + 1] : null;

        DateTimeOffset now = new(2025, 6, 1, 0, 0, 0, TimeSpan.Zero);
        var time = new FixedTime(now);
        List<SweepSummary> summaries = Generate(racks, days, perDay, now);
        Console.WriteLine($"## Sweep trends: {racks} racks × {days} days × {perDay}/day × 3 widths = {summaries.Count:N0} summaries, {Environment.ProcessorCount} cores");
        Console.WriteLine();
        Console.WriteLine("| store | load (one transaction) | fleet report, 30 days per day (trends + 2 rankings) | one rack, 30 days per hour + its past |");
        Console.WriteLine("|---|---|---|---|");

        string dir = Directory.CreateTempSubdirectory("ms-bench-trends-").FullName;
        try
        {
            var membership = Options.Create(new MembershipOptions { CoordinatorId = "bench" });
            using (var sqlite = new SqliteStore(Options.Create(new StorageOptions { DatabasePath = Path.Combine(dir, "c.db"), SummaryRetentionDays = 0 }),
                membership, time, NullLogger<SqliteStore>.Instance))
            {
                await MeasureAsync("SQLite", sqlite, summaries, time, days, repeat);
            }

            if (postgres is not null)
            {
                using var pg = new PostgresStore(Options.Create(new StorageOptions { Provider = StorageProvider.Postgres, ConnectionString = postgres, SummaryRetentionDays = 0 }),
                    membership, time, NullLogger<PostgresStore>.Instance);
                await MeasureAsync("PostgreSQL 15", pg, summaries, time, days, repeat);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }

        Console.WriteLine();
        Console.WriteLine($"command: dotnet run -c Release --project bench/Millisampler.Benchmarks -- trends {string.Join(' ', args.Select(a => a.Contains(';', StringComparison.Ordinal) ? "'<connection string>'" : a))}");
        return 0;
    }

    private static async Task MeasureAsync(string name, SqlStore store, List<SweepSummary> summaries, TimeProvider time, int days, int repeat)
    {
        await store.EnsureInitializedAsync(CancellationToken.None);
        long t0 = Stopwatch.GetTimestamp();
        await store.SaveSummariesAsync(summaries, CancellationToken.None);
        double loadS = Stopwatch.GetElapsedTime(t0).TotalSeconds;

        var reporter = new SweepReporter(store, time);
        long to = TimeNs.FromUnix(time.GetUtcNow());
        long from = to - (days * 86_400_000_000_000L);
        var fleet = new List<double>();
        var rack = new List<double>();
        int trendRows = 0;
        for (int r = -1; r < repeat; r++)
        {
            long a = Stopwatch.GetTimestamp();
            SweepReport f = await reporter.ReportAsync(new SweepReportRequest { FromUnixNs = from, ToUnixNs = to, Bucket = TrendBucket.Day }, CancellationToken.None);
            double fleetMs = Stopwatch.GetElapsedTime(a).TotalMilliseconds;
            long b = Stopwatch.GetTimestamp();
            SweepReport one = await reporter.ReportAsync(new SweepReportRequest { Rack = "rack-042", FromUnixNs = from, ToUnixNs = to, Bucket = TrendBucket.Hour }, CancellationToken.None);
            double rackMs = Stopwatch.GetElapsedTime(b).TotalMilliseconds;
            if (f.ByContention.Count == 0 || one.Trends.Count == 0)
            {
                throw new InvalidOperationException("the report found no summaries");
            }

            trendRows = f.Trends.Count;
            if (r >= 0)
            {
                fleet.Add(fleetMs);
                rack.Add(rackMs);
            }
        }

        Console.WriteLine($"| {name} | {loadS:F1} s ({summaries.Count / loadS:N0}/s) | p50 {BenchArgs.Percentile(fleet, 50):F0} ms, p99 {BenchArgs.Percentile(fleet, 99):F0} ms ({trendRows:N0} trend rows) | p50 {BenchArgs.Percentile(rack, 50):F0} ms, p99 {BenchArgs.Percentile(rack, 99):F0} ms |");
    }

    private static List<SweepSummary> Generate(int racks, int days, int perDay, DateTimeOffset now)
    {
        var list = new List<SweepSummary>(racks * days * perDay * Widths.Length);
        var rng = new Random(12);
        long start = TimeNs.FromUnix(now) - (days * 86_400_000_000_000L);
        long step = 86_400_000_000_000L / perDay;
        for (int r = 0; r < racks; r++)
        {
            for (long k = 0; k < (long)days * perDay; k++)
            {
                foreach (long w in Widths)
                {
                    double c = rng.NextDouble() * 0.2;
                    list.Add(new SweepSummary
                    {
                        CaptureId = $"bench-{r}-{k}-{w}",
                        Sweep = "bench",
                        Rack = $"rack-{r:000}",
                        BinWidthNs = w,
                        Bins = 2000,
                        StartUnixNs = start + (k * step) + (r * 1_000_000_000L),
                        Hosts = 92,
                        BurstsPerHostSecond = rng.NextDouble() * 50,
                        MeanContention = c * 10,
                        ContendedBinShare = c,
                        LossyContendedBinShare = c * rng.NextDouble() * 0.3,
                        CeFraction = rng.NextDouble() * 0.01,
                        RetransmitFraction = rng.NextDouble() * 0.001,
                        MaxRackIngressFraction = rng.NextDouble(),
                        SyncEvents = (uint)rng.Next(0, 20),
                        BurstLengthHistogram = { 10, 5, 2, 1, 0, 0 },
                        BurstPeakHistogram = { 3, 4, 5, 3, 2, 1 },
                    });
                }
            }
        }

        return list;
    }



    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
