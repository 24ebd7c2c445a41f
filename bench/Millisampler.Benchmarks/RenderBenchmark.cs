using System.Diagnostics;
using System.Globalization;
using Millisampler.Analysis.Datasets;
using Millisampler.Cli;
using Millisampler.Cli.Export;
using Millisampler.Contracts.V1;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;

namespace Millisampler.Benchmarks;

/// <summary>
/// The capture views at rack size: <c>millisampler report DIR</c> (read, analyse, write the HTML) and its file size, the
/// time to the first full render of that file in Debian's headless chromium, and <c>export --format parquet</c>, for
/// 92 hosts × 2,000 and × 20,000 bins of 1 ms (AnalysisBenchmark's synthetic rack).
/// Options: --hosts N (default 92), --bins N,N (default 2000,20000), --iterations N (default 5), --seed N,
/// --compare-bundle FILE: also render the same report with FILE (another build of src/Web's bundle, e.g. main's
/// dist/millisampler-ui.js) in place of this build's, the two interleaved in one browser, one row each.
/// </summary>
public static class RenderBenchmark
{
    public static int Run(string[] args)
    {
        int hosts = BenchArgs.Int(args, "--hosts", 92);
        int iterations = BenchArgs.Int(args, "--iterations", 5);
        int seed = BenchArgs.Int(args, "--seed", 42);
        int i = Array.IndexOf(args, "--bins");
        int[] binCounts = i >= 0 && i + 1 < args.Length
            ? [.. args[i + 1].Split(',').Select(b => int.Parse(b, CultureInfo.InvariantCulture))]
            : [2000, 20000];
        int c = Array.IndexOf(args, "--compare-bundle");
        string? compareBundle = c >= 0 && c + 1 < args.Length ? args[c + 1] : null;
        const long BinWidthNs = 1_000_000;
        const double LinkSpeed = 12.5e9;

        using ChromeDriver browser = StartChromium();
        Console.WriteLine($"chromium {browser.Capabilities.GetCapability("browserVersion")}, {Environment.ProcessorCount} cores; median of {iterations} (min–max)");
        Console.WriteLine();
        Console.WriteLine("| rack | report command | report size | first full render (script) | first full render (navigation) | Parquet export | Parquet size | CSV export | CSV size |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
        foreach (int bins in binCounts)
        {
            string dir = Directory.CreateTempSubdirectory("ms-bench-render-").FullName;
            try
            {
                MetaHostFile[] files = AnalysisBenchmark.BuildRack(new Random(seed), hosts, bins, BinWidthNs, LinkSpeed);
                string data = Path.Combine(dir, "rack");
                Directory.CreateDirectory(data);
                foreach (MetaHostFile f in files)
                {
                    MetaDataset.Write(Path.Combine(data, MetaDataset.DefaultFileName(f)), f);
                }

                string report = Path.Combine(dir, "report.html");
                var reportMs = new List<double>();
                for (int n = 0; n < iterations + 1; n++)
                {
                    var sw = Stopwatch.StartNew();
                    int code = Cli.Cli.RunAsync(["report", data, "-o", report, "--force"], new CliEnvironment(TextWriter.Null, Console.Error), CancellationToken.None)
                        .GetAwaiter().GetResult();
                    sw.Stop();
                    if (code != 0)
                    {
                        return code;
                    }

                    if (n > 0)
                    {
                        reportMs.Add(sw.Elapsed.TotalMilliseconds);
                    }
                }

                long reportSize = new FileInfo(report).Length;
                // The pages to time: this build's report and, with --compare-bundle, the same report with the other
                // bundle inlined instead; rendered in turn (A B A B …) so both see the same machine load.
                List<(string Label, string Path)> pages = [("", report)];
                if (compareBundle != null)
                {
                    string other = Path.Combine(dir, "report-compare.html");
                    File.WriteAllText(other, SwapBundle(File.ReadAllText(report), File.ReadAllText(compareBundle)));
                    pages.Add(($" (bundle {Path.GetFileName(compareBundle)})", other));
                }

                var scriptMs = pages.Select(_ => new List<double>()).ToList();
                var navigationMs = pages.Select(_ => new List<double>()).ToList();
                for (int n = 0; n < iterations + 1; n++)
                {
                    for (int k = 0; k < pages.Count; k++)
                    {
                        int p = (k + n) % pages.Count;
                        browser.Navigate().GoToUrl("about:blank");
                        browser.Navigate().GoToUrl(new Uri(pages[p].Path).AbsoluteUri);
                        new WebDriverWait(browser, TimeSpan.FromSeconds(120)) { PollingInterval = TimeSpan.FromMilliseconds(20) }
                            .Until(d => d.FindElements(By.CssSelector("body[data-ms-ready='true']")).Count > 0);
                        var errors = (IReadOnlyCollection<object>)browser.ExecuteScript("return window.__ms.errors;")!;
                        if (errors.Count > 0)
                        {
                            Console.Error.WriteLine($"page errors{pages[p].Label}: {string.Join("; ", errors)}");
                            return 1;
                        }

                        if (n > 0)
                        {
                            scriptMs[p].Add(Convert.ToDouble(browser.ExecuteScript("return window.__ms.renderMs;"), CultureInfo.InvariantCulture));
                            navigationMs[p].Add(Convert.ToDouble(browser.ExecuteScript("return window.__ms.readyAtMs;"), CultureInfo.InvariantCulture));
                            Console.Error.WriteLine($"{hosts} x {bins}{pages[p].Label}: " + browser.ExecuteScript(
                                "const h = window.__ms; return `data ${h.dataMs.toFixed(0)} ms, setOption ${h.setOptionMs.toFixed(0)} ms, finished ${h.renderMs.toFixed(0)} ms`;"));
                        }
                    }
                }

                List<Run> runs = [.. files.Select(ToRun)];
                (string parquetMs, long parquetSize) = Export(dir, "parquet", iterations,
                    s => TidyExport.WriteParquetAsync(s, "bench", runs, CancellationToken.None).GetAwaiter().GetResult());
                (string csvMs, long csvSize) = Export(dir, "csv", iterations, s =>
                {
                    using var w = new StreamWriter(s, leaveOpen: true);
                    TidyExport.WriteCsv(w, "bench", runs, CancellationToken.None);
                });

                Console.WriteLine($"| {hosts} × {bins:N0} | {Ms(reportMs)} | {Size(reportSize)} | {Ms(scriptMs[0])} | {Ms(navigationMs[0])} | {parquetMs} | {Size(parquetSize)} | {csvMs} | {Size(csvSize)} |");
                for (int p = 1; p < pages.Count; p++)
                {
                    Console.WriteLine($"| {hosts} × {bins:N0}{pages[p].Label} | | | {Ms(scriptMs[p])} | {Ms(navigationMs[p])} | | | | |");
                }
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }
        }

        return 0;
    }

    private static (string Ms, long Size) Export(string dir, string format, int iterations, Action<Stream> write)
    {
        string path = Path.Combine(dir, "export." + format);
        var ms = new List<double>();
        for (int n = 0; n < iterations + 1; n++)
        {
            var sw = Stopwatch.StartNew();
            using (var s = new FileStream(path, FileMode.Create, FileAccess.Write))
            {
                write(s);
            }

            sw.Stop();
            if (n > 0)
            {
                ms.Add(sw.Elapsed.TotalMilliseconds);
            }
        }

        return (Ms(ms), new FileInfo(path).Length);
    }

    /// <summary>The report with its inline bundle (the last script element) replaced by <paramref name="bundle"/>.</summary>
    private static string SwapBundle(string html, string bundle)
    {
        const string End = "</script></body></html>";
        int end = html.LastIndexOf(End, StringComparison.Ordinal);
        int start = html.LastIndexOf("<script>", end, StringComparison.Ordinal) + "<script>".Length;
        if (end < 0 || start < "<script>".Length || bundle.Contains("</script", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException("The report's inline bundle was not found, or the other bundle cannot be inlined.");
        }

        return string.Concat(html.AsSpan(0, start), bundle, html.AsSpan(end));
    }

    private static Run ToRun(MetaHostFile f)
    {
        var run = new Run
        {
            RunId = "run-" + f.ServerHostname,
            Host = f.ServerHostname,
            Rack = f.RackId,
            StartTaiNs = 1_763_823_637_000_000_000,
            BinWidthNs = f.BinWidthNs ?? 1_000_000,
            Bins = (uint)f.IngressBytes.Length,
            BinsRecorded = (uint)f.IngressBytes.Length,
            ClockAtArm = new ClockState { Synchronized = true, MaxErrorNs = f.ClockErrorNs ?? 0, TaiOffsetSeconds = 37 },
            Status = RunStatus.Complete,
            Series = new RunSeries(),
        };
        run.Interfaces.Add(new InterfaceInfo { Name = "eth0", LinkSpeedBitsPerSecond = (ulong)(f.LinkSpeedBitsPerSecond ?? 0) });
        run.Series.IngressBytes.AddRange(f.IngressBytes);
        run.Series.EgressBytes.AddRange(f.EgressBytes);
        run.Series.IngressCeBytes.AddRange(f.InCongestionExperiencedBytes);
        run.Series.IngressRetransmitBytes.AddRange(f.InRxmitBytes);
        run.Series.EgressRetransmitBytes.AddRange(f.OutRxmitBytes);
        run.Series.Connections.AddRange(f.Connections.Select(c => (uint)c));
        return run;
    }

    private static ChromeDriver StartChromium()
    {
        // Explicit driver and browser paths: Selenium Manager never runs.
        ChromeDriverService service = ChromeDriverService.CreateDefaultService("/usr/bin", "chromedriver");
        service.SuppressInitialDiagnosticInformation = true;
        var options = new ChromeOptions { BinaryLocation = "/usr/bin/chromium" };
        options.AddArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1400,1100");
        return new ChromeDriver(service, options, TimeSpan.FromSeconds(120));
    }

    private static string Ms(List<double> values)
    {
        values.Sort();
        double median = values[values.Count / 2];
        return string.Create(CultureInfo.InvariantCulture, $"{median:F0} ms ({values[0]:F0}–{values[^1]:F0})");
    }

    private static string Size(long bytes) => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e6:F2} MB");
}
