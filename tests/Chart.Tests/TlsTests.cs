using System.Text;
using System.Text.Json;
using Millisampler.ServiceDefaults.Security;

namespace Millisampler.Chart.Tests;

/// <summary>tls.mode: what each mode gives the services (docs/security.md) and where their certificates come from.</summary>
public sealed class TlsTests
{
    private const string Agent = "ms-millisampler-agent-r1";
    private const string Coordinator = "ms-millisampler-coordinator";

    [Fact]
    public void Insecure_SetsTheOneExplicitSwitch_AndMountsNoCertificates()
    {
        var objects = ChartTools.Render("-f", ChartTools.ValuesFile("insecure.yaml"));
        foreach (string name in new[] { Agent, Coordinator })
        {
            var settings = objects.Single("ConfigMap", name).GetProperty("data").Map();
            Assert.Equal("true", settings["Security__Insecure"]);
            Assert.DoesNotContain(settings.Keys, k => k.StartsWith("Security__CertificatePath", StringComparison.Ordinal));
        }

        Assert.Empty(objects.OfKind("Certificate"));
        Assert.Empty(objects.OfKind("Issuer"));
        Assert.Equal("http://ms-millisampler-coordinator.ms-chart-test.svc.cluster.local:7400",
            objects.Single("ConfigMap", Agent).GetProperty("data").Map()["Agent__CoordinatorAddress"]);
        Assert.DoesNotContain(Volumes(objects.Single("DaemonSet", Agent)), v => v.Name == "tls");
    }

    [Fact]
    public void CertManager_IssuesRoleCertificates_AndBothServicesReadThem()
    {
        var objects = ChartTools.Render("--set", "agent.racks[0].name=r1", "--set", "agent.racks[0].nodes={node-1,node-2}");
        foreach (string name in new[] { Agent, Coordinator })
        {
            var settings = objects.Single("ConfigMap", name).GetProperty("data").Map();
            Assert.DoesNotContain("Security__Insecure", settings.Keys);
            Assert.Equal("/etc/millisampler/tls/tls.crt", settings["Security__CertificatePath"]);
            Assert.Equal("/etc/millisampler/tls/tls.key", settings["Security__KeyPath"]);
            Assert.Equal("/etc/millisampler/tls/ca.crt", settings["Security__CaPath"]);
        }

        Assert.Equal("https://ms-millisampler-coordinator.ms-chart-test.svc.cluster.local:7400",
            objects.Single("ConfigMap", Agent).GetProperty("data").Map()["Agent__CoordinatorAddress"]);

        JsonElement coordinatorCert = objects.Single("Certificate", "ms-millisampler-coordinator-tls").GetProperty("spec");
        Assert.Equal(["urn:millisampler:role:coordinator"], Strings(coordinatorCert.GetProperty("uris")));
        Assert.Contains("ms-millisampler-coordinator.ms-chart-test.svc.cluster.local", Strings(coordinatorCert.GetProperty("dnsNames")));
        Assert.Equal("ms-millisampler-ca", coordinatorCert.GetProperty("issuerRef").GetProperty("name").GetString());
        Assert.Contains("client auth", Strings(coordinatorCert.GetProperty("usages")));
        Assert.Contains("server auth", Strings(coordinatorCert.GetProperty("usages")));

        JsonElement agentCert = objects.Single("Certificate", "ms-millisampler-agent-r1-tls").GetProperty("spec");
        Assert.Equal(["urn:millisampler:role:agent"], Strings(agentCert.GetProperty("uris")));
        Assert.Equal(["node-1", "node-2"], Strings(agentCert.GetProperty("dnsNames")));

        // Each Secret cert-manager writes is the one the pods mount.
        Assert.Equal(agentCert.GetProperty("secretName").GetString(), Assert.Single(Volumes(objects.Single("DaemonSet", Agent)), v => v.Name == "tls").Secret);
        Assert.Equal(coordinatorCert.GetProperty("secretName").GetString(),
            Assert.Single(Volumes(objects.Single("Deployment", Coordinator)), v => v.Name == "tls").Secret);
    }

    [Fact]
    public void CertManager_EngineersCertificates_CarryTheirRole_AndTheCoordinatorNamesLocalhostForPortForward()
    {
        var objects = ChartTools.Render("--set", "tls.certManager.clients[0].name=alice", "--set", "tls.certManager.clients[0].role=operator");
        JsonElement alice = objects.Single("Certificate", "ms-millisampler-client-alice").GetProperty("spec");
        Assert.Equal("alice", alice.GetProperty("commonName").GetString());
        Assert.Equal(["urn:millisampler:role:operator"], Strings(alice.GetProperty("uris")));
        Assert.Equal(["digital signature", "key encipherment", "client auth"], Strings(alice.GetProperty("usages")));
        Assert.Contains("localhost", Strings(objects.Single("Certificate", "ms-millisampler-coordinator-tls").GetProperty("spec").GetProperty("dnsNames")));

        ToolResult refused = ChartTools.Helm("template", "ms", ChartTools.ChartDir, "--set", "tls.certManager.clients[0].name=bob",
            "--set", "tls.certManager.clients[0].role=agent");
        Assert.True(refused.ExitCode != 0, refused.ToString());
        Assert.Contains("at '/tls/certManager/clients/0/role'", refused.StdErr);
    }

    [Fact]
    public void CertManager_WithAnIssuer_MakesNoCaOfItsOwn()
    {
        var objects = ChartTools.Render("--set", "tls.certManager.issuerRef.name=corp-ca", "--set", "tls.certManager.issuerRef.kind=ClusterIssuer");
        Assert.Empty(objects.OfKind("Issuer"));
        Assert.Equal(["ms-millisampler-agent-r1-tls", "ms-millisampler-coordinator-tls"], objects.OfKind("Certificate").Select(o => o.Name()).Order());
        Assert.All(objects.OfKind("Certificate"), c =>
            Assert.Equal("ClusterIssuer", c.GetProperty("spec").GetProperty("issuerRef").GetProperty("kind").GetString()));
    }

    [Fact]
    public void Helm_MakesCertificatesTheServicesAccept_WithTheRolesAndHostsTheyCheck()
    {
        var objects = ChartTools.Render("--set", "tls.mode=helm", "--set", "agent.racks[0].name=r1", "--set", "agent.racks[0].nodes={node-1,node-2}");
        Assert.Empty(objects.OfKind("Certificate"));
        string dir = Directory.CreateTempSubdirectory("ms-chart-tls-").FullName;
        try
        {
            // Loaded by the services' own loader, judged by their own identity and trust code (src/ServiceDefaults/Security).
            using CertificateSet agent = Load(objects.Single("Secret", "ms-millisampler-agent-r1-tls"), dir, "agent");
            using CertificateSet coordinator = Load(objects.Single("Secret", "ms-millisampler-coordinator-tls"), dir, "coordinator");
            Assert.Contains(Roles.Agent, CertificateIdentity.RolesOf(agent.Certificate));
            Assert.True(CertificateIdentity.Names(agent.Certificate, "node-1"));
            Assert.True(CertificateIdentity.Names(agent.Certificate, "node-2"));
            Assert.False(CertificateIdentity.Names(agent.Certificate, "node-3"));
            Assert.Contains(Roles.Coordinator, CertificateIdentity.RolesOf(coordinator.Certificate));
            Assert.True(CertificateIdentity.Names(coordinator.Certificate, "localhost"));

            // Each side trusts the other's certificate for the direction it is used in.
            Assert.True(coordinator.IsTrusted(agent.Certificate, null, CertificateSet.ClientAuthentication, out string e1), e1);
            Assert.True(coordinator.IsTrusted(agent.Certificate, null, CertificateSet.ServerAuthentication, out string e2), e2);
            Assert.True(agent.IsTrusted(coordinator.Certificate, null, CertificateSet.ClientAuthentication, out string e3), e3);
            Assert.True(agent.IsTrusted(coordinator.Certificate, null, CertificateSet.ServerAuthentication, out string e4), e4);

            // A certificate of another render (another CA, as a second install without the kept CA would make) is not.
            var other = ChartTools.Render("--set", "tls.mode=helm", "--set", "agent.racks[0].name=r1", "--set", "agent.racks[0].nodes={node-1}");
            using CertificateSet stranger = Load(other.Single("Secret", "ms-millisampler-agent-r1-tls"), dir, "stranger");
            Assert.False(coordinator.IsTrusted(stranger.Certificate, null, CertificateSet.ClientAuthentication, out _));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }

        JsonElement ca = objects.Single("Secret", "ms-millisampler-ca");
        Assert.Equal("keep", ca.GetProperty("metadata").GetProperty("annotations").GetProperty("helm.sh/resource-policy").GetString());
        Assert.Equal("ms-millisampler-agent-r1-tls", Assert.Single(Volumes(objects.Single("DaemonSet", Agent)), v => v.Name == "tls").Secret);
    }

    [Fact]
    public void Secret_TheDocumentedKubectlCommand_MakesASecretTheAgentLoads()
    {
        // docs/deploy.md, "Rotation": kubectl create secret generic with the CA beside the pair, run offline here.
        var objects = ChartTools.Render("--set", "tls.mode=helm", "--set", "agent.racks[0].name=r1", "--set", "agent.racks[0].nodes={node-1}");
        var made = objects.Single("Secret", "ms-millisampler-agent-r1-tls").GetProperty("data").Map();
        string dir = Directory.CreateTempSubdirectory("ms-chart-kubectl-").FullName;
        try
        {
            foreach (string key in new[] { "tls.crt", "tls.key", "ca.crt" })
            {
                File.WriteAllBytes(Path.Combine(dir, key.Replace('.', '-')), Convert.FromBase64String(made[key]));
            }

            ToolResult kubectl = ChartTools.Run(Path.Combine(ChartTools.ToolsDir, "bin", "kubectl"),
                ["create", "secret", "generic", "my-agents-tls", "--from-file=tls.crt=tls-crt", "--from-file=tls.key=tls-key",
                 "--from-file=ca.crt=ca-crt", "--dry-run=client", "-o", "yaml"], stdin: null, workingDirectory: dir);
            Assert.True(kubectl.ExitCode == 0, kubectl.ToString());
            ToolResult valid = ChartTools.Validate(kubectl.StdOut, json: true);
            Assert.True(valid.ExitCode == 0, valid.ToString());
            using JsonDocument doc = JsonDocument.Parse(valid.StdOut);
            JsonElement secret = Assert.Single(doc.RootElement.EnumerateArray());
            Assert.Equal(["ca.crt", "tls.crt", "tls.key"], secret.GetProperty("data").Map().Keys.Order());
            using CertificateSet set = Load(secret, dir, "from-kubectl");
            Assert.True(CertificateIdentity.Names(set.Certificate, "node-1"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static CertificateSet Load(JsonElement secret, string dir, string prefix)
    {
        var data = secret.GetProperty("data").Map();
        string Write(string key)
        {
            string path = Path.Combine(dir, $"{prefix}-{key}");
            File.WriteAllText(path, Encoding.ASCII.GetString(Convert.FromBase64String(data[key])));
            return path;
        }

        return CertificateSet.Load(Write("tls.crt"), Write("tls.key"), Write("ca.crt"));
    }

    [Fact]
    public void Secret_MountsTheOperatorsSecrets_PerRackWhenGiven()
    {
        var objects = ChartTools.Render("-f", ChartTools.ValuesFile("secret.yaml"));
        Assert.Empty(objects.OfKind("Certificate"));
        Assert.Equal("my-agents-tls", Assert.Single(Volumes(objects.Single("DaemonSet", Agent)), v => v.Name == "tls").Secret);
        Assert.Equal("my-r2-tls", Assert.Single(Volumes(objects.Single("DaemonSet", "ms-millisampler-agent-r2")), v => v.Name == "tls").Secret);
        Assert.Equal("my-coordinator-tls", Assert.Single(Volumes(objects.Single("Deployment", Coordinator)), v => v.Name == "tls").Secret);
    }

    [Fact]
    public void AgentHostPath_GivesEachHostItsOwnCertificate_AndNoRackCertificate()
    {
        var objects = ChartTools.Render("--set", "tls.agent.hostPath=/etc/millisampler/pki");
        Assert.DoesNotContain(objects.OfKind("Certificate"), c => c.Name().StartsWith("ms-millisampler-agent", StringComparison.Ordinal));
        Assert.Equal("/etc/millisampler/pki", Assert.Single(Volumes(objects.Single("DaemonSet", Agent)), v => v.Name == "tls").HostPath);
        JsonElement mount = objects.Single("DaemonSet", Agent).Container().GetProperty("volumeMounts").EnumerateArray()
            .Single(m => m.GetProperty("name").GetString() == "tls");
        Assert.True(mount.GetProperty("readOnly").GetBoolean());
    }

    private static string[] Strings(JsonElement array) => [.. array.EnumerateArray().Select(e => e.GetString()!)];

    private sealed record Volume(string Name, string? Secret, string? HostPath);

    private static List<Volume> Volumes(JsonElement workload) =>
    [
        .. workload.GetProperty("spec").GetProperty("template").GetProperty("spec").GetProperty("volumes").EnumerateArray()
            .Select(v => new Volume(
                v.GetProperty("name").GetString()!,
                v.TryGetProperty("secret", out JsonElement s) ? s.GetProperty("secretName").GetString() : null,
                v.TryGetProperty("hostPath", out JsonElement h) ? h.GetProperty("path").GetString() : null)),
    ];
}
