using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Millisampler.Lab.Tests.Observability;

/// <summary>
/// A real Prometheus (Debian's <c>prometheus</c> package, installed by scripts/setup.sh) inside a lab namespace, on
/// 127.0.0.1 at a port free there, with a generated configuration and its data in a temporary directory. Disposing
/// stops it (SIGTERM, then SIGKILL) and deletes the directory, also when the test failed.
/// </summary>
internal sealed partial class PrometheusServer : IAsyncDisposable
{
    private const string Binary = "/usr/bin/prometheus";
    private readonly Process _process;
    private readonly HttpClient _http;

    private PrometheusServer(string directory, Process process, HttpClient http, string url)
    {
        Directory = directory;
        _process = process;
        _http = http;
        Url = url;
    }

    /// <summary>Its configuration, data and log.</summary>
    public string Directory { get; }

    /// <summary>Base URL, reachable from the namespace it runs in.</summary>
    public string Url { get; }

    private string LogPath => Path.Combine(Directory, "prometheus.log");

    /// <summary>A scrape job: its name and its targets (host:port), scraped every second over plain HTTP.</summary>
    public sealed record ScrapeJob(string Name, IReadOnlyList<string> Targets);

    /// <summary>Starts Prometheus in <paramref name="ns"/> scraping <paramref name="jobs"/> every second; returns when it is ready.</summary>
    public static async Task<PrometheusServer> StartAsync(string ns, IReadOnlyList<ScrapeJob> jobs, TimeSpan readyTimeout)
    {
        if (!File.Exists(Binary))
        {
            throw new InvalidOperationException($"{Binary} is missing: run scripts/setup.sh (Debian package prometheus).");
        }

        string dir = Path.Combine(Path.GetTempPath(), $"ms-prom-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(dir);
        Process? process = null;
        HttpClient? http = null;
        try
        {
            string config = Path.Combine(dir, "prometheus.yml");
            await File.WriteAllTextAsync(config, Config(jobs));
            int port = FreePort(ns);
            var psi = new ProcessStartInfo("ip") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string a in new[]
            {
                "netns", "exec", ns, Binary,
                $"--config.file={config}",
                $"--storage.tsdb.path={Path.Combine(dir, "data")}",
                $"--web.listen-address=127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}",
                "--web.enable-lifecycle",
            })
            {
                psi.ArgumentList.Add(a);
            }

            var log = new StreamWriter(Path.Combine(dir, "prometheus.log")) { AutoFlush = true };
            var gate = new object();
            process = new Process { StartInfo = psi };
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (gate) { log.WriteLine(e.Data); } } };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (gate) { log.WriteLine(e.Data); } } };
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            http = NamespaceHttp.Create(ns, TimeSpan.FromSeconds(10));
            var server = new PrometheusServer(dir, process, http, $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}");
            await server.WaitReadyAsync(readyTimeout);
            return server;
        }
        catch
        {
            await StopAsync(process);
            http?.Dispose();
            TryDelete(dir);
            throw;
        }
    }

    private static string Config(IReadOnlyList<ScrapeJob> jobs)
    {
        var b = new StringBuilder();
        b.AppendLine("global:");
        b.AppendLine("  scrape_interval: 1s");
        b.AppendLine("  scrape_timeout: 1s");
        b.AppendLine("scrape_configs:");
        foreach (var job in jobs)
        {
            b.AppendLine(CultureInfo.InvariantCulture, $"  - job_name: {job.Name}");
            b.AppendLine("    static_configs:");
            b.AppendLine(CultureInfo.InvariantCulture, $"      - targets: [{string.Join(", ", job.Targets.Select(t => $"'{t}'"))}]");
        }

        return b.ToString();
    }

    /// <summary>A port nothing listens on in <paramref name="ns"/> (asked of the kernel there).</summary>
    private static int FreePort(string ns) => NetNs.Run(ns, () =>
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    });

    private async Task WaitReadyAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        string last = "";
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"prometheus exited ({_process.ExitCode}):\n{Tail()}");
            }

            try
            {
                using var response = await _http.GetAsync(Url + "/-/ready");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }

                last = response.StatusCode.ToString();
            }
            catch (HttpRequestException e)
            {
                last = e.Message;
            }

            await Task.Delay(200);
        }

        throw new TimeoutException($"prometheus not ready within {timeout.TotalSeconds:F0} s ({last}):\n{Tail()}");
    }

    /// <summary>The <c>data</c> member of a Prometheus API answer (<c>/api/v1/...</c>); throws with the error when status is not success.</summary>
    public async Task<JsonElement> ApiAsync(string pathAndQuery)
    {
        using var response = await _http.GetAsync(Url + pathAndQuery);
        string body = await response.Content.ReadAsStringAsync();
        using var doc = JsonDocument.Parse(body);
        if (doc.RootElement.GetProperty("status").GetString() != "success")
        {
            throw new InvalidOperationException($"prometheus {pathAndQuery}: {body}");
        }

        return doc.RootElement.GetProperty("data").Clone();
    }

    /// <summary>An instant query's vector: each series' labels and value.</summary>
    public async Task<IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)>> QueryAsync(string promql)
    {
        JsonElement data = await ApiAsync("/api/v1/query?query=" + Uri.EscapeDataString(promql));
        return [.. data.GetProperty("result").EnumerateArray().Select(r => (
            (IReadOnlyDictionary<string, string>)r.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? ""),
            double.Parse(r.GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture)))];
    }

    /// <summary>Runs <paramref name="promql"/> until its vector is not empty (new series appear at the next scrape).</summary>
    public async Task<IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)>> QueryUntilPresentAsync(string promql, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var result = await QueryAsync(promql);
            if (result.Count > 0 || DateTime.UtcNow > deadline)
            {
                return result;
            }

            await Task.Delay(250);
        }
    }

    /// <summary>The last lines of Prometheus's log, for failure messages.</summary>
    public string Tail(int lines = 20)
    {
        try
        {
            using var fs = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(fs);
            return string.Join('\n', reader.ReadToEnd().Split('\n').TakeLast(lines));
        }
        catch (IOException)
        {
            return "";
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    private static async Task StopAsync(Process? process)
    {
        if (process is null)
        {
            return;
        }

        try
        {
            if (!process.HasExited)
            {
                // ip netns exec replaced itself with prometheus: the pid is Prometheus's.
                _ = Kill(process.Id, 15);
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                try
                {
                    await process.WaitForExitAsync(cts.Token);
                }
                catch (OperationCanceledException)
                {
                    process.Kill();
                    await process.WaitForExitAsync();
                }
            }
        }
        finally
        {
            process.Dispose();
        }
    }

    private static void TryDelete(string dir)
    {
        try
        {
            System.IO.Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(_process);
        _http.Dispose();
        TryDelete(Directory);
    }
}
