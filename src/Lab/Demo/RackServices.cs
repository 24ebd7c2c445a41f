using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using Millisampler.Lab.Certificates;

namespace Millisampler.Lab;

/// <summary>Where the built services are: src/{Agent,Coordinator,Cli}/bin/{configuration}/net10.0.</summary>
public sealed record ServiceBinaries(string Agent, string Coordinator, string Cli)
{
    /// <summary>Finds the binaries built with the same configuration as this assembly.</summary>
    public static ServiceBinaries Locate()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Millisampler.sln")))
        {
            dir = dir.Parent;
        }

        if (dir is null)
        {
            throw new InvalidOperationException("Run the lab from inside the Millisampler checkout (Millisampler.sln not found above it).");
        }

        string configuration = AppContext.BaseDirectory.Contains("/bin/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        string Path1(string project, string dll) => Path.Combine(dir.FullName, "src", project, "bin", configuration, "net10.0", dll);
        var b = new ServiceBinaries(Path1("Agent", "millisampler-agent.dll"), Path1("Coordinator", "millisampler-coordinator.dll"), Path1("Cli", "millisampler.dll"));
        foreach (var path in new[] { b.Agent, b.Coordinator, b.Cli })
        {
            if (!File.Exists(path))
            {
                throw new InvalidOperationException($"{path} is missing: build first (dotnet build Millisampler.sln -c {configuration}).");
            }
        }
        return b;
    }
}

/// <summary>A process started inside a network namespace, its output going to a log file.</summary>
public sealed partial class NamespacedProcess : IAsyncDisposable
{
    private readonly Process _process;

    private NamespacedProcess(string name, Process process, string logPath)
    {
        Name = name;
        _process = process;
        LogPath = logPath;
    }

    public string Name { get; }
    public string LogPath { get; }
    public bool HasExited => _process.HasExited;

    /// <summary>
    /// Starts <c>dotnet DLL ARGS</c> in <paramref name="ns"/> (ip netns exec replaces itself, so the pid is dotnet's),
    /// with <paramref name="environment"/> added to this process's environment.
    /// </summary>
    public static NamespacedProcess Start(string name, string ns, string dll, IEnumerable<string> args, string logDirectory,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo("ip") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "netns", "exec", ns, "dotnet", dll }.Concat(args))
        {
            psi.ArgumentList.Add(a);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[key] = value;
        }

        string log = Path.Combine(logDirectory, name + ".log");
        var writer = new StreamWriter(log) { AutoFlush = true };
        var process = new Process { StartInfo = psi };
        var gate = new object();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (gate) { writer.WriteLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (gate) { writer.WriteLine(e.Data); } } };
        process.Exited += (_, _) => { lock (gate) { writer.Flush(); } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new NamespacedProcess(name, process, log);
    }

    /// <summary>The last lines of the log, for error messages.</summary>
    public string Tail(int lines = 15)
    {
        try
        {
            using var fs = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(fs);
            var all = reader.ReadToEnd().Split('\n');
            return string.Join('\n', all.TakeLast(lines));
        }
        catch (IOException)
        {
            return string.Empty;
        }
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    /// <summary>SIGTERM, then SIGKILL if it has not ended within <paramref name="grace"/>.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (_process.HasExited)
        {
            return;
        }

        Kill(_process.Id, 15);
        using var cts = new CancellationTokenSource(grace);
        try
        {
            await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _process.Kill();
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(20)).ConfigureAwait(false);
        _process.Dispose();
    }
}

/// <summary>
/// A coordinator in the rack's router namespace and an agent on every host, all real processes,
/// plus the CLI run the way an engineer would (inside the router namespace, where the
/// coordinator listens). Secure by default: a throw-away CA (<see cref="LabCertificates"/>) issues the
/// coordinator's, each agent's and the engineer's certificates, and every gRPC and JSON connection is
/// mutual TLS; /metrics and health stay plain HTTP on ports of their own. Disposing stops every process
/// (SIGTERM: agents store their runs and detach) before the namespaces go.
/// </summary>
public sealed class RackServices : IAsyncDisposable
{
    public const string RackName = "rack-1";
    private const int CoordinatorPort = 7400;
    private const int CoordinatorHttpPort = 7401;

    /// <summary>Port of the coordinator's plain /metrics, /healthz and /readyz (HTTP/1.1), on the rack gateway.</summary>
    public const int CoordinatorMetricsPort = 7402;

    /// <summary>The role of the engineer's certificate the CLI presents: admin, so the lab can capture and run sweeps.</summary>
    public const string EngineerRole = "admin";
    private const int AgentPort = 7300;

    /// <summary>Port of each agent's /metrics, /healthz and /readyz (HTTP/1.1), on the host's address.</summary>
    public const int AgentMetricsPort = 7301;
    private readonly List<NamespacedProcess> _agents = [];
    private NamespacedProcess? _coordinator;

    private readonly LabCertificates? _pki;
    private readonly CertificateFiles? _engineer;

    private RackServices(Rack rack, ServiceBinaries binaries, string workDirectory, bool secure)
    {
        Rack = rack;
        Binaries = binaries;
        WorkDirectory = workDirectory;
        if (secure)
        {
            _pki = LabCertificates.Create(Path.Combine(workDirectory, "pki"));
            _engineer = _pki.Engineer("lab-engineer", EngineerRole);
        }
    }

    /// <summary>True when the services run with certificates (the default); false with Security:Insecure=true.</summary>
    public bool Secure => _pki is not null;

    /// <summary>The lab's CA and certificates; null in insecure mode.</summary>
    public LabCertificates? Certificates => _pki;

    /// <summary>The engineer certificate the CLI presents (CN lab-engineer, role <see cref="EngineerRole"/>); null in insecure mode.</summary>
    public CertificateFiles? Engineer => _engineer;

    private string Scheme => Secure ? "https" : "http";

    public Rack Rack { get; }
    public ServiceBinaries Binaries { get; }

    /// <summary>Logs, the coordinator's database and the agents' stores.</summary>
    public string WorkDirectory { get; }

    public string CoordinatorUrl => $"{Scheme}://{AddressPlan.RackGateway}:{CoordinatorPort}";

    /// <summary>The coordinator's JSON API and /ui/ (HTTP/1.1; TLS when <see cref="Secure"/>), reachable from the router namespace.</summary>
    public string CoordinatorHttpUrl => $"{Scheme}://{AddressPlan.RackGateway}:{CoordinatorHttpPort}";

    /// <summary>The coordinator's /metrics, /healthz and /readyz over plain HTTP/1.1 (also when <see cref="Secure"/>), reachable from the router namespace.</summary>
    public string CoordinatorMetricsUrl => $"http://{AddressPlan.RackGateway}:{CoordinatorMetricsPort}";
    public IReadOnlyList<NamespacedProcess> Agents => _agents;

    /// <summary>Environment variables set for the coordinator and the agents started after they are added (OTEL_*, for example).</summary>
    public Dictionary<string, string> Environment { get; } = [];

    /// <summary>Services for <paramref name="rack"/>; <paramref name="secure"/> false runs them with Security:Insecure=true.</summary>
    public static RackServices Create(Rack rack, ServiceBinaries binaries, string workDirectory, bool secure = true)
    {
        Directory.CreateDirectory(workDirectory);
        return new RackServices(rack, binaries, workDirectory, secure);
    }

    public static string HostName(RackHost h) => $"host-{h.Index}";

    public void StartCoordinator()
    {
        _coordinator = NamespacedProcess.Start("coordinator", Rack.RouterNamespace, Binaries.Coordinator,
        [
            $"--Coordinator:Endpoints:GrpcUrl={CoordinatorUrl}",
            $"--Coordinator:Endpoints:HttpUrl={CoordinatorHttpUrl}",
            $"--Coordinator:Endpoints:MetricsUrl={CoordinatorMetricsUrl}",
            $"--Coordinator:Storage:DatabasePath={Path.Combine(WorkDirectory, "coordinator.db")}",
            "--Coordinator:Membership:HeartbeatInterval=00:00:01",
            "--Coordinator:Membership:CoordinatorId=lab-coordinator",
            .. _pki is null ? ["--Security:Insecure=true"] : _pki.Coordinator(AddressPlan.RackGateway).AsSettings(),
        ], WorkDirectory, Environment);
    }

    public Task StopCoordinatorAsync() => _coordinator?.StopAsync(TimeSpan.FromSeconds(20)) ?? Task.CompletedTask;

    /// <summary>
    /// Starts one agent per host; every agent reads this machine's one clock, so their relative error is zero.
    /// <paramref name="rackOf"/> names each host's rack (default <see cref="RackName"/> for all): one lab ToR can
    /// stand for several racks of the coordinator. <paramref name="extraArgs"/> are added to every agent's settings (trigger rules).
    /// </summary>
    public void StartAgents(long linkSpeedBitsPerSecond, Func<RackHost, string>? rackOf = null, IReadOnlyList<string>? extraArgs = null)
    {
        foreach (var h in Rack.Hosts)
        {
            var store = Path.Combine(WorkDirectory, "runs-" + HostName(h));
            _agents.Add(NamespacedProcess.Start("agent-" + HostName(h), h.Namespace, Binaries.Agent,
            [
                "serve",
                $"--Agent:Interfaces:0={h.Interface}",
                $"--Agent:Host={HostName(h)}",
                $"--Agent:Rack={rackOf?.Invoke(h) ?? RackName}",
                $"--Agent:LinkSpeedBitsPerSecond={linkSpeedBitsPerSecond.ToString(CultureInfo.InvariantCulture)}",
                "--Agent:ClockErrorSource=SharedHostClock",
                $"--Agent:Listen={Scheme}://{h.Address}:{AgentPort}",
                $"--Agent:MetricsListen=http://{h.Address}:{AgentMetricsPort}",
                $"--Agent:AdvertisedAddress={h.Address}:{AgentPort}",
                $"--Agent:CoordinatorAddress={CoordinatorUrl}",
                "--Agent:Schedule:Enabled=false",
                $"--Agent:RunStore:Directory={store}",
                .. _pki is null ? ["--Security:Insecure=true"] : _pki.Agent(HostName(h), h.Address).AsSettings(),
                .. extraArgs ?? [],
            ], WorkDirectory, Environment));
        }
    }

    /// <summary>Stops one agent (SIGTERM), as if its host went away.</summary>
    public Task StopAgentAsync(int index) => _agents[index].StopAsync(TimeSpan.FromSeconds(20));

    /// <summary>The CLI's options reaching the coordinator: its address and, when <see cref="Secure"/>, the engineer's certificate and the CA.</summary>
    public IReadOnlyList<string> CliConnectionArgs() => _engineer is null
        ? ["--coordinator", CoordinatorUrl]
        : ["--coordinator", CoordinatorUrl, "--cert", _engineer.CertificatePath, "--key", _engineer.KeyPath, "--ca", _engineer.CaPath];

    /// <summary>
    /// Runs the CLI in the router namespace against the coordinator, as the lab engineer; with <paramref name="asEngineer"/>
    /// false it presents no certificate (but still trusts the lab's CA), as a stranger would.
    /// </summary>
    public async Task<(int ExitCode, string Stdout, string Stderr)> CliAsync(IEnumerable<string> args, CancellationToken cancellationToken,
        bool asEngineer = true)
    {
        IEnumerable<string> connection = asEngineer || _engineer is null
            ? CliConnectionArgs()
            : ["--coordinator", CoordinatorUrl, "--ca", _engineer.CaPath];
        var all = args.Concat(connection).ToList();
        var result = await Shell.TryRunAsync("ip", ["netns", "exec", Rack.RouterNamespace, "dotnet", Binaries.Cli, .. all], timeout: TimeSpan.FromMinutes(2), cancellationToken: cancellationToken).ConfigureAwait(false);
        return (result.ExitCode, result.StdOut, result.StdErr);
    }

    /// <summary>Waits until the coordinator lists every host of the rack as healthy.</summary>
    public async Task WaitForRegistrationAsync(int hosts, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        string last = string.Empty;
        while (DateTime.UtcNow < deadline)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_coordinator is { HasExited: true })
            {
                throw new InvalidOperationException($"the coordinator exited:\n{_coordinator.Tail()}");
            }

            foreach (var a in _agents.Where(a => a.HasExited))
            {
                throw new InvalidOperationException($"{a.Name} exited:\n{a.Tail()}");
            }

            var (code, stdout, stderr) = await CliAsync(["racks", "--output", "json"], cancellationToken).ConfigureAwait(false);
            if (code == 0 && HealthyHosts(stdout) >= hosts)
            {
                return;
            }

            last = code == 0 ? stdout : stderr;
            await Task.Delay(500, cancellationToken).ConfigureAwait(false);
        }
        throw new TimeoutException($"not every agent registered within {timeout.TotalSeconds:F0} s; last answer: {last.Trim()}");
    }

    private static int HealthyHosts(string json)
    {
        using var doc = JsonDocument.Parse(json);
        int n = 0;
        if (!doc.RootElement.TryGetProperty("racks", out var racks))
        {
            return 0;
        }

        foreach (var rack in racks.EnumerateArray())
        {
            if (!rack.TryGetProperty("hosts", out var hosts))
            {
                continue;
            }

            foreach (var h in hosts.EnumerateArray())
            {
                if (h.TryGetProperty("health", out var health) && health.GetString() == "healthy")
                {
                    n++;
                }
            }
        }
        return n;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var a in _agents)
        {
            await a.DisposeAsync().ConfigureAwait(false);
        }

        if (_coordinator is not null)
        {
            await _coordinator.DisposeAsync().ConfigureAwait(false);
        }

        _pki?.Dispose();
    }
}
