using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Millisampler.Coordinator.Tests.Infrastructure;

/// <summary>
/// A real Alertmanager (Debian's <c>prometheus-alertmanager</c>, installed by scripts/setup.sh) on loopback, in a
/// temporary directory, without clustering, routing every alert to one webhook receiver after <c>group_wait</c> 1 s.
/// Stopped (SIGTERM, then kill) and its directory deleted on dispose.
/// </summary>
internal sealed class AlertmanagerServer : IAsyncDisposable
{
    public const string Binary = "/usr/bin/prometheus-alertmanager";

    private readonly Process _process;
    private readonly StreamWriter _log;

    private AlertmanagerServer(string directory, Process process, StreamWriter log, string url)
    {
        Directory = directory;
        _process = process;
        _log = log;
        Url = url;
        Http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(10) };
    }

    public string Directory { get; }

    /// <summary>Alertmanager's own API, http://127.0.0.1:port.</summary>
    public string Url { get; }

    public HttpClient Http { get; }

    private string LogPath => Path.Combine(Directory, "alertmanager.log");

    /// <summary>
    /// Starts Alertmanager with one receiver, <c>millisampler</c>: a webhook to <paramref name="webhookUrl"/> whose
    /// <c>http_config</c> is the YAML <paramref name="httpConfig"/> returns for the server's directory (tls_config with a
    /// client certificate, or authorization with a credentials_file).
    /// </summary>
    public static async Task<AlertmanagerServer> StartAsync(string webhookUrl, Func<string, string> httpConfig, TimeSpan readyTimeout)
    {
        if (!File.Exists(Binary))
        {
            throw new InvalidOperationException($"{Binary} is missing: run scripts/setup.sh (Debian package prometheus-alertmanager).");
        }

        string dir = System.IO.Directory.CreateTempSubdirectory("ms-alertmanager-").FullName;
        Process? process = null;
        StreamWriter? log = null;
        try
        {
            string config = Path.Combine(dir, "alertmanager.yml");
            await File.WriteAllTextAsync(config, $"""
                route:
                  receiver: millisampler
                  group_by: ['alertname', 'rack']
                  group_wait: 1s
                  group_interval: 1s
                  repeat_interval: 1h
                receivers:
                  - name: millisampler
                    webhook_configs:
                      - url: '{webhookUrl}'
                        send_resolved: true
                        max_alerts: 100
                        http_config:
                {Indent(httpConfig(dir), 10)}
                """);
            int port = FreePort();
            var psi = new ProcessStartInfo(Binary) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (string a in new[]
            {
                $"--config.file={config}",
                $"--storage.path={Path.Combine(dir, "data")}",
                $"--web.listen-address=127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}",
                "--cluster.listen-address=",
                "--log.level=debug",
            })
            {
                psi.ArgumentList.Add(a);
            }

            log = new StreamWriter(Path.Combine(dir, "alertmanager.log")) { AutoFlush = true };
            StreamWriter writer = log;
            process = new Process { StartInfo = psi };
            process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (writer) { writer.WriteLine(e.Data); } } };
            process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (writer) { writer.WriteLine(e.Data); } } };
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            var server = new AlertmanagerServer(dir, process, log, $"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}");
            await server.WaitReadyAsync(readyTimeout);
            return server;
        }
        catch
        {
            await StopAsync(process);
            log?.Dispose();
            TryDelete(dir);
            throw;
        }
    }

    /// <summary>Posts alerts to Alertmanager's API (<c>POST /api/v2/alerts</c>), as Prometheus does.</summary>
    public async Task PostAlertsAsync(string alertsJson)
    {
        using HttpResponseMessage answer = await Http.PostAsync("/api/v2/alerts", new StringContent(alertsJson, Encoding.UTF8, "application/json"));
        if (!answer.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"alertmanager POST /api/v2/alerts: {(int)answer.StatusCode} {await answer.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>The last lines of Alertmanager's log, for a failure message.</summary>
    public string Tail(int lines = 40)
    {
        try
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            string[] all = reader.ReadToEnd().Split('\n');
            return string.Join('\n', all.TakeLast(lines));
        }
        catch (IOException)
        {
            return "";
        }
    }

    /// <summary>How many times <paramref name="text"/> occurs in Alertmanager's log so far.</summary>
    public int LogCount(string text)
    {
        try
        {
            using var stream = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            string all = reader.ReadToEnd();
            int count = 0;
            for (int i = all.IndexOf(text, StringComparison.Ordinal); i >= 0; i = all.IndexOf(text, i + text.Length, StringComparison.Ordinal))
            {
                count++;
            }

            return count;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    private async Task WaitReadyAsync(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        string last = "";
        while (clock.Elapsed < timeout)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"alertmanager exited ({_process.ExitCode}):\n{Tail()}");
            }

            try
            {
                using HttpResponseMessage ready = await Http.GetAsync("/-/ready");
                if (ready.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }

                last = ready.StatusCode.ToString();
            }
            catch (HttpRequestException ex)
            {
                last = ex.Message;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"alertmanager not ready within {timeout.TotalSeconds:F0} s ({last}):\n{Tail()}");
    }

    private static string Indent(string yaml, int spaces) =>
        string.Join('\n', yaml.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => new string(' ', spaces) + l.TrimEnd('\r')));

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

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
                process.Kill();
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await process.WaitForExitAsync(cts.Token);
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
        Http.Dispose();
        await StopAsync(_process);
        _log.Dispose();
        TryDelete(Directory);
    }
}
