using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;

namespace Millisampler.Chart.Tests;

/// <summary>
/// The coordinator started with the settings and the certificates the chart renders (tls.mode helm): it accepts them,
/// and the endpoints its probes ask answer over TLS without a client certificate, as the kubelet asks.
/// </summary>
public sealed class CoordinatorStartTests
{
    [Fact]
    public async Task Coordinator_WithTheChartsSettingsAndCertificates_StartsAndAnswersItsProbes()
    {
        var objects = ChartTools.Render("--set", "tls.mode=helm", "--set", "agent.racks[0].name=r1", "--set", "agent.racks[0].nodes={node-1}");
        var env = objects.Single("ConfigMap", "ms-millisampler-coordinator").GetProperty("data").Map();
        var secret = objects.Single("Secret", "ms-millisampler-coordinator-tls").GetProperty("data").Map();
        JsonElement readiness = objects.Single("Deployment", "ms-millisampler-coordinator").Container().GetProperty("readinessProbe").GetProperty("httpGet");
        JsonElement liveness = objects.Single("Deployment", "ms-millisampler-coordinator").Container().GetProperty("livenessProbe").GetProperty("httpGet");

        string dir = Directory.CreateTempSubdirectory("ms-chart-coordinator-").FullName;
        Process? coordinator = null;
        var output = new StringBuilder();
        try
        {
            // The files where the pod has them (/etc/millisampler/tls, the claim) live in a temporary folder here, and the
            // ports are free loopback ones instead of 0.0.0.0:7400/7401; every other setting is the chart's.
            foreach (string key in new[] { "tls.crt", "tls.key", "ca.crt" })
            {
                await File.WriteAllBytesAsync(Path.Combine(dir, key), Convert.FromBase64String(secret[key]));
            }

            Assert.Equal("/etc/millisampler/tls/tls.crt", env["Security__CertificatePath"]);
            env["Security__CertificatePath"] = Path.Combine(dir, "tls.crt");
            env["Security__KeyPath"] = Path.Combine(dir, "tls.key");
            env["Security__CaPath"] = Path.Combine(dir, "ca.crt");
            env["Coordinator__Storage__DatabasePath"] = Path.Combine(dir, "coordinator.db");
            int grpcPort = FreePort(), httpPort = FreePort();
            Assert.StartsWith("https://0.0.0.0:", env["Coordinator__Endpoints__HttpUrl"], StringComparison.Ordinal);
            env["Coordinator__Endpoints__GrpcUrl"] = $"https://127.0.0.1:{grpcPort}";
            env["Coordinator__Endpoints__HttpUrl"] = $"https://127.0.0.1:{httpPort}";

            var start = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = dir,
            };
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "millisampler-coordinator.dll"));
            foreach ((string k, string v) in env)
            {
                start.Environment[k] = v;
            }

            coordinator = Process.Start(start)!;
            coordinator.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
            coordinator.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
            coordinator.BeginOutputReadLine();
            coordinator.BeginErrorReadLine();

            using var ca = X509CertificateLoader.LoadCertificate(PemBytes(secret["ca.crt"]));
            using var http = new HttpClient(new SocketsHttpHandler
            {
                // Trust only the chart's CA; present no client certificate (the kubelet presents none).
                SslOptions = { RemoteCertificateValidationCallback = (_, cert, _, _) => cert is not null && ChainsTo(cert, ca) },
            });

            string Url(JsonElement probe) => $"https://127.0.0.1:{httpPort}{probe.GetProperty("path").GetString()}";
            HttpStatusCode? live = null;
            var deadline = Stopwatch.StartNew();
            while (live is null && !coordinator.HasExited && deadline.Elapsed < TimeSpan.FromSeconds(90))
            {
                try
                {
                    live = (await http.GetAsync(Url(liveness))).StatusCode;
                }
                catch (HttpRequestException)
                {
                    await Task.Delay(200); // not listening yet
                }
            }

            Assert.True(live == HttpStatusCode.OK, $"liveness answered {live?.ToString() ?? "nothing"}; coordinator output:\n{output}");
            HttpResponseMessage ready = await http.GetAsync(Url(readiness));
            Assert.True(ready.StatusCode == HttpStatusCode.OK, $"readiness: {ready.StatusCode} {await ready.Content.ReadAsStringAsync()}");
        }
        finally
        {
            if (coordinator is { HasExited: false })
            {
                coordinator.Kill(entireProcessTree: true);
                await coordinator.WaitForExitAsync();
            }

            coordinator?.Dispose();
            Directory.Delete(dir, recursive: true);
        }
    }

    private static byte[] PemBytes(string base64Pem)
    {
        string pem = Encoding.ASCII.GetString(Convert.FromBase64String(base64Pem));
        return X509Certificate2.CreateFromPem(pem).RawData;
    }

    private static bool ChainsTo(X509Certificate certificate, X509Certificate2 ca)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        return chain.Build(leaf);
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }
}
