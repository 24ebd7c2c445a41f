using System.Text.Json;
using Millisampler.ServiceDefaults;

namespace Millisampler.Chart.Tests;

/// <summary><c>helm template</c> for one rack and for several, every object valid by the Kubernetes schemas.</summary>
public sealed class RenderTests
{
    private static readonly string[] NonNamespaced = ["Namespace", "ClusterRole", "ClusterRoleBinding", "ClusterIssuer"];

    [Fact]
    public void OneRack_Defaults_RenderTheWholeDeployment()
    {
        var objects = ChartTools.Render();

        Assert.Equal("ms-millisampler-agent-r1", Assert.Single(objects.OfKind("DaemonSet")).Name());
        Assert.Equal("ms-millisampler-coordinator", Assert.Single(objects.OfKind("Deployment")).Name());
        Assert.Single(objects.OfKind("PodDisruptionBudget")); // the agents'; the coordinator's is off by default
        Assert.Single(objects.OfKind("NetworkPolicy"));
        Assert.Empty(objects.OfKind("ServiceMonitor"));
        // certManager by default: the chart's CA, the coordinator's and the rack's certificates.
        Assert.Equal(["ms-millisampler-agent-r1-tls", "ms-millisampler-ca", "ms-millisampler-coordinator-tls"],
            objects.OfKind("Certificate").Select(o => o.Name()).Order());
        Assert.Contains(objects.OfKind("ConfigMap"), o => o.Name() == "ms-millisampler-dashboard");
    }

    [Fact]
    public void EveryNamespacedObject_IsInTheReleaseNamespace()
    {
        foreach (string? file in new[] { null, "several-racks.yaml", "secret.yaml", "helm-certs.yaml" })
        {
            var objects = file is null ? ChartTools.Render() : ChartTools.Render("-f", ChartTools.ValuesFile(file));
            foreach (JsonElement o in objects.Where(o => !NonNamespaced.Contains(o.GetProperty("kind").GetString())))
            {
                Assert.True(o.GetProperty("metadata").TryGetProperty("namespace", out JsonElement ns), $"{o.Name()} has no namespace");
                Assert.Equal(ChartTools.Namespace, ns.GetString());
            }
        }
    }

    [Fact]
    public void SeveralRacks_OneDaemonSetConfigMapBudgetAndCertificateEach()
    {
        var objects = ChartTools.Render("-f", ChartTools.ValuesFile("several-racks.yaml"));

        string[] racks = ["r1", "r2", "Rack_3"];
        string[] slugs = ["r1", "r2", "rack-3"];
        Assert.Equal(slugs.Select(s => $"ms-millisampler-agent-{s}").Order(), objects.OfKind("DaemonSet").Select(o => o.Name()).Order());
        for (int i = 0; i < racks.Length; i++)
        {
            string name = $"ms-millisampler-agent-{slugs[i]}";
            JsonElement ds = objects.Single("DaemonSet", name);
            Assert.Equal(racks[i], ds.GetProperty("spec").GetProperty("template").GetProperty("spec")
                .GetProperty("nodeSelector").GetProperty("millisampler.io/rack").GetString());
            var settings = objects.Single("ConfigMap", name).GetProperty("data").Map();
            Assert.Equal(racks[i], settings["Agent__Rack"]);
            JsonElement pdb = objects.Single("PodDisruptionBudget", name);
            Assert.Equal(racks[i], pdb.GetProperty("spec").GetProperty("selector").GetProperty("matchLabels")
                .GetProperty("millisampler.io/rack").GetString());
            Assert.Equal(1, pdb.GetProperty("spec").GetProperty("maxUnavailable").GetInt32());
        }

        var r2 = objects.Single("ConfigMap", "ms-millisampler-agent-r2").GetProperty("data").Map();
        Assert.Equal("bond0", r2["Agent__Interfaces__0"]);
        Assert.Equal("25000000000", r2["Agent__LinkSpeedBitsPerSecond"]);
        Assert.Equal("4000", objects.Single("ConfigMap", "ms-millisampler-agent-rack-3").GetProperty("data").Map()["Agent__MaxBins"]);

        // The rack's certificate names exactly its listed nodes.
        JsonElement cert = objects.Single("Certificate", "ms-millisampler-agent-r1-tls");
        Assert.Equal(["node-11", "node-12"], cert.GetProperty("spec").GetProperty("dnsNames").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["urn:millisampler:role:agent"], cert.GetProperty("spec").GetProperty("uris").EnumerateArray().Select(e => e.GetString()));

        // Monitoring: two ServiceMonitors with the operator's selector label, the agents' headless metrics Service.
        var monitors = objects.OfKind("ServiceMonitor");
        Assert.Equal(2, monitors.Count);
        Assert.All(monitors, m => Assert.Equal("kube-prometheus-stack", m.GetProperty("metadata").GetProperty("labels").GetProperty("release").GetString()));
        JsonElement metricsSvc = objects.Single("Service", "ms-millisampler-agent-metrics");
        Assert.Equal("None", metricsSvc.GetProperty("spec").GetProperty("clusterIP").GetString());
        Assert.Equal(7301, metricsSvc.GetProperty("spec").GetProperty("ports")[0].GetProperty("port").GetInt32());
        Assert.Single(objects.OfKind("PodDisruptionBudget"), o => o.Name() == "ms-millisampler-coordinator");
    }

    [Fact]
    public void AgentProbes_AskTheRealHealthEndpoints_OnTheMetricsPortTheAgentListensOn()
    {
        var objects = ChartTools.Render();
        JsonElement agent = objects.Single("DaemonSet", "ms-millisampler-agent-r1").Container();

        int metricsPort = agent.GetProperty("ports").EnumerateArray().Single(p => p.GetProperty("name").GetString() == "metrics")
            .GetProperty("containerPort").GetInt32();
        Assert.Equal(7301, metricsPort);
        // The agent binds the node IP (hostNetwork: the pod IP the kubelet probes), not its loopback default.
        Assert.Equal($"http://$(HOST_IP):{metricsPort}", agent.Env()["Agent__MetricsListen"]);
        Assert.Equal("https://$(HOST_IP):7300", agent.Env()["Agent__Listen"]);

        AssertHttpProbe(agent, "livenessProbe", ServiceDefaultsExtensions.HealthPath, "metrics", "HTTP");
        AssertHttpProbe(agent, "startupProbe", ServiceDefaultsExtensions.HealthPath, "metrics", "HTTP");
        AssertHttpProbe(agent, "readinessProbe", ServiceDefaultsExtensions.ReadyPath, "metrics", "HTTP");
        var annotations = objects.Single("DaemonSet", "ms-millisampler-agent-r1").GetProperty("spec").GetProperty("template")
            .GetProperty("metadata").GetProperty("annotations").Map();
        Assert.Equal("true", annotations["prometheus.io/scrape"]);
        Assert.Equal("7301", annotations["prometheus.io/port"]);
    }

    [Fact]
    public void AgentWithAListenAddress_BindsItInsteadOfTheNodeIP()
    {
        var objects = ChartTools.Render("--set", "agent.listenAddress=0.0.0.0", "--set", "tls.mode=insecure");
        var settings = objects.Single("ConfigMap", "ms-millisampler-agent-r1").GetProperty("data").Map();
        Assert.Equal("http://0.0.0.0:7300", settings["Agent__Listen"]);
        Assert.Equal("http://0.0.0.0:7301", settings["Agent__MetricsListen"]);
        Assert.DoesNotContain("Agent__Listen", objects.Single("DaemonSet", "ms-millisampler-agent-r1").Container().Env().Keys);
    }

    [Theory]
    [InlineData(null, "https", "HTTPS")]
    [InlineData("insecure.yaml", "http", "HTTP")]
    public void CoordinatorProbes_AskTheRealHealthEndpoints_OnItsHttpPort(string? file, string scheme, string probeScheme)
    {
        var objects = file is null ? ChartTools.Render() : ChartTools.Render("-f", ChartTools.ValuesFile(file));
        JsonElement deployment = objects.Single("Deployment", "ms-millisampler-coordinator");
        JsonElement c = deployment.Container();
        var settings = objects.Single("ConfigMap", "ms-millisampler-coordinator").GetProperty("data").Map();
        int httpPort = c.GetProperty("ports").EnumerateArray().Single(p => p.GetProperty("name").GetString() == "http")
            .GetProperty("containerPort").GetInt32();
        Assert.Equal($"{scheme}://0.0.0.0:{httpPort}", settings["Coordinator__Endpoints__HttpUrl"]);
        Assert.Equal($"{scheme}://0.0.0.0:7400", settings["Coordinator__Endpoints__GrpcUrl"]);

        AssertHttpProbe(c, "livenessProbe", ServiceDefaultsExtensions.HealthPath, "http", probeScheme);
        AssertHttpProbe(c, "readinessProbe", ServiceDefaultsExtensions.ReadyPath, "http", probeScheme);
        var annotations = deployment.GetProperty("spec").GetProperty("template").GetProperty("metadata").GetProperty("annotations").Map();
        Assert.Equal(scheme, annotations["prometheus.io/scheme"]);
        Assert.Equal(ServiceDefaultsExtensions.MetricsPath, annotations["prometheus.io/path"]);
    }

    [Fact]
    public void NetworkPolicy_AdmitsOnlyTheCoordinatorsTwoPorts()
    {
        var objects = ChartTools.Render("--set", "coordinator.networkPolicy.grpcFrom[0].ipBlock.cidr=198.18.0.0/15");
        JsonElement spec = objects.Single("NetworkPolicy", "ms-millisampler-coordinator").GetProperty("spec");
        Assert.Equal(["Ingress"], spec.GetProperty("policyTypes").EnumerateArray().Select(e => e.GetString()));
        var rules = spec.GetProperty("ingress").EnumerateArray().ToList();
        Assert.Equal(["grpc", "http"], rules.Select(r => r.GetProperty("ports")[0].GetProperty("port").GetString()));
        Assert.Equal("198.18.0.0/15", rules[0].GetProperty("from")[0].GetProperty("ipBlock").GetProperty("cidr").GetString());
        Assert.False(rules[1].TryGetProperty("from", out _));
        // The policy selects the coordinator pods.
        var podLabels = objects.Single("Deployment", "ms-millisampler-coordinator").GetProperty("spec").GetProperty("template")
            .GetProperty("metadata").GetProperty("labels").Map();
        Assert.All(spec.GetProperty("podSelector").GetProperty("matchLabels").Map(), kv => Assert.Equal(kv.Value, podLabels[kv.Key]));
    }

    [Fact]
    public void Notes_StateThePodSecurityLevelTheAgentsNeed_AndWarnWhenInsecure()
    {
        ToolResult install = ChartTools.Helm("install", "ms", ChartTools.ChartDir, "-n", ChartTools.Namespace, "--dry-run=client");
        Assert.True(install.ExitCode == 0, install.ToString());
        Assert.Contains($"kubectl label namespace {ChartTools.Namespace} pod-security.kubernetes.io/enforce=privileged", install.StdOut);
        Assert.DoesNotContain("tls.mode is insecure", install.StdOut);

        ToolResult insecure = ChartTools.Helm("install", "ms", ChartTools.ChartDir, "-n", ChartTools.Namespace, "--dry-run=client",
            "-f", ChartTools.ValuesFile("insecure.yaml"));
        Assert.Contains("WARNING: tls.mode is insecure", insecure.StdOut);
    }

    [Fact]
    public void AgentPodSpec_NeedsPrivilegedPodSecurity_ButTheContainerIsNotPrivileged()
    {
        // What puts the agent above PSA baseline, so the level stated in NOTES and docs stays true.
        JsonElement ds = ChartTools.Render().Single("DaemonSet", "ms-millisampler-agent-r1");
        JsonElement pod = ds.GetProperty("spec").GetProperty("template").GetProperty("spec");
        Assert.True(pod.GetProperty("hostNetwork").GetBoolean());
        Assert.Contains(pod.GetProperty("volumes").EnumerateArray(), v => v.TryGetProperty("hostPath", out _));
        JsonElement sc = ds.Container().GetProperty("securityContext");
        Assert.False(sc.GetProperty("privileged").GetBoolean());
        Assert.False(sc.GetProperty("allowPrivilegeEscalation").GetBoolean());
        Assert.Equal(["BPF", "PERFMON", "NET_ADMIN"], sc.GetProperty("capabilities").GetProperty("add").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["ALL"], sc.GetProperty("capabilities").GetProperty("drop").EnumerateArray().Select(e => e.GetString()));
    }

    private static void AssertHttpProbe(JsonElement container, string probe, string path, string port, string scheme)
    {
        JsonElement get = container.GetProperty(probe).GetProperty("httpGet");
        Assert.Equal(path, get.GetProperty("path").GetString());
        Assert.Equal(port, get.GetProperty("port").GetString());
        string actualScheme = get.TryGetProperty("scheme", out JsonElement s) ? s.GetString()! : "HTTP";
        Assert.Equal(scheme, actualScheme);
    }
}
