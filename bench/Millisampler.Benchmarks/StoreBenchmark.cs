using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Millisampler.Agent.Storage;
using Millisampler.Contracts.V1;

namespace Millisampler.Benchmarks;

/// <summary>
/// The agent's run store: bytes per stored 2,000-bin run (realistic and worst-case random), the
/// codec comparison behind the file format's choice, and save (with fsync), load and list time
/// per run. Options: --runs N (default 200), --dir PATH (default a temp directory; the disk under
/// it decides the fsync cost).
/// </summary>
public static class StoreBenchmark
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static int Run(string[] args)
    {
        int runs = ArgInt(args, "--runs", 200);
        int i = Array.IndexOf(args, "--dir");
        string root = i >= 0 && i + 1 < args.Length ? args[i + 1] : Path.GetTempPath();
        string directory = Path.Combine(root, "ms-store-bench-" + Guid.NewGuid().ToString("N"));
        Console.WriteLine($"# store benchmark, {Environment.ProcessorCount} CPUs, .NET {Environment.Version}, {runs} runs of {StoreSyntheticRuns.DefaultBins} bins, 12 series");
        try
        {
            Sizes(runs);
            Codecs(Math.Min(runs, 20));
            Timings(directory, runs).GetAwaiter().GetResult();
        }
        finally
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }

        return 0;
    }

    private static void Sizes(int runs)
    {
        Console.WriteLine();
        Console.WriteLine("## Bytes per stored run (file as written: header, summary, Brotli payload)");
        Console.WriteLine();
        Console.WriteLine("| data | protobuf median | file median | file max | limit |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var (label, make) in Kinds())
        {
            var proto = new List<double>();
            var file = new List<double>();
            for (int seed = 1; seed <= runs; seed++)
            {
                var run = make(seed);
                proto.Add(run.CalculateSize());
                file.Add(RunFileFormat.Encode(run).Length);
            }

            Console.WriteLine($"| {label} | {Median(proto):F0} | {Median(file):F0} | {file.Max():F0} | 65536 |");
        }
    }

    private static void Codecs(int runs)
    {
        Console.WriteLine();
        Console.WriteLine($"## Codecs on the Run protobuf (median over {runs} runs; ms per run to compress)");
        Console.WriteLine();
        Console.WriteLine("| codec | realistic bytes | realistic ms | worst-case bytes | worst-case ms |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        var codecs = new (string Name, Func<byte[], byte[]> Compress)[]
        {
            ("Brotli q1", raw => Brotli(raw, 1)),
            ("Brotli q4 (used)", raw => Brotli(raw, 4)),
            ("Brotli q6", raw => Brotli(raw, 6)),
            ("Brotli q11", raw => Brotli(raw, 11)),
            ("ZLib fastest", raw => ZLib(raw, CompressionLevel.Fastest)),
            ("ZLib optimal", raw => ZLib(raw, CompressionLevel.Optimal)),
            ("ZLib smallest", raw => ZLib(raw, CompressionLevel.SmallestSize)),
        };
        var kinds = Kinds().Select(k => Enumerable.Range(1, runs).Select(seed => k.Make(seed).ToByteArray()).ToArray()).ToArray();
        foreach (var (name, compress) in codecs)
        {
            var cells = kinds.Select(raws =>
            {
                var bytes = new List<double>();
                var ms = new List<double>();
                foreach (var raw in raws)
                {
                    var sw = Stopwatch.StartNew();
                    bytes.Add(compress(raw).Length);
                    ms.Add(sw.Elapsed.TotalMilliseconds);
                }

                return $"{Median(bytes):F0} | {Median(ms):F2}";
            });
            Console.WriteLine($"| {name} | {string.Join(" | ", cells)} |");
        }
    }

    private static async Task Timings(string directory, int runs)
    {
        Console.WriteLine();
        Console.WriteLine($"## Time per realistic run, ms (median over {runs}; save includes fsync of file and directory)");
        Console.WriteLine();
        var prepared = Enumerable.Range(1, runs)
            .Select(seed => StoreSyntheticRuns.Realistic($"bench-{seed}", seed, startTaiNs: StoreSyntheticRuns.DefaultStartTaiNs + (seed * 2_000_000_000L)))
            .ToArray();
        var options = Options.Create(new RunStoreOptions { Directory = directory, MaxTotalBytes = long.MaxValue });
        var save = new List<double>();
        var load = new List<double>();
        var list = new List<double>();
        using (var store = new RunStore(options, TimeProvider.System, NullLogger<RunStore>.Instance))
        {
            // Warm up the JIT on a run that is not measured.
            await store.SaveAsync(StoreSyntheticRuns.Realistic("warm-up", 0), CancellationToken.None);
            await store.TryGetAsync("warm-up", CancellationToken.None);
            foreach (var run in prepared)
            {
                var sw = Stopwatch.StartNew();
                await store.SaveAsync(run, CancellationToken.None);
                save.Add(sw.Elapsed.TotalMilliseconds);
            }

            foreach (var run in prepared)
            {
                var sw = Stopwatch.StartNew();
                _ = await store.TryGetAsync(run.RunId, CancellationToken.None) ?? throw new InvalidOperationException($"{run.RunId} not loaded");
                load.Add(sw.Elapsed.TotalMilliseconds);
            }
        }

        // A fresh instance reads each summary from disk once (checksum, no decompression); time that.
        using (var reopened = new RunStore(options, TimeProvider.System, NullLogger<RunStore>.Instance))
        {
            var sw = Stopwatch.StartNew();
            int listed = (await reopened.ListAsync(0, 0, 0, int.MaxValue, CancellationToken.None)).Count;
            list.Add(sw.Elapsed.TotalMilliseconds / listed);
        }

        Console.WriteLine("| operation | median ms | p90 ms |");
        Console.WriteLine("|---|---:|---:|");
        Console.WriteLine($"| save (encode + write + fsync + rename) | {Median(save):F2} | {Percentile(save, 0.9):F2} |");
        Console.WriteLine($"| load (read + CRC + decompress + parse) | {Median(load):F2} | {Percentile(load, 0.9):F2} |");
        Console.WriteLine($"| list after restart, per run (read + CRC + summary) | {list[0]:F3} | - |");
    }

    private static IEnumerable<(string Label, Func<int, Run> Make)> Kinds() =>
    [
        ("realistic", seed => StoreSyntheticRuns.Realistic($"r-{seed}", seed)),
        ("worst-case random", seed => StoreSyntheticRuns.WorstCase($"w-{seed}", seed)),
    ];

    private static byte[] Brotli(byte[] raw, int quality)
    {
        var buffer = new byte[BrotliEncoder.GetMaxCompressedLength(raw.Length)];
        return BrotliEncoder.TryCompress(raw, buffer, out int written, quality, 22) ? buffer[..written] : throw new InvalidOperationException("Brotli failed");
    }

    private static byte[] ZLib(byte[] raw, CompressionLevel level)
    {
        using var output = new MemoryStream();
        using (var zlib = new ZLibStream(output, level, leaveOpen: true))
        {
            zlib.Write(raw);
        }

        return output.ToArray();
    }

    private static double Median(List<double> values) => Percentile(values, 0.5);

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToArray();
        return sorted[(int)Math.Min(sorted.Length - 1, Math.Round(p * (sorted.Length - 1)))];
    }

    private static int ArgInt(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], Inv) : fallback;
    }
}
