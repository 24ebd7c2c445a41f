namespace Millisampler.Chart.Tests;

/// <summary><c>helm lint --strict</c>, and values.schema.json refusing what the programs would refuse later.</summary>
public sealed class LintAndSchemaTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("several-racks.yaml")]
    [InlineData("insecure.yaml")]
    [InlineData("secret.yaml")]
    [InlineData("helm-certs.yaml")]
    public void LintStrict_Passes(string? valuesFile)
    {
        string[] args = valuesFile is null
            ? ["lint", "--strict", ChartTools.ChartDir]
            : ["lint", "--strict", ChartTools.ChartDir, "-f", ChartTools.ValuesFile(valuesFile)];
        ToolResult lint = ChartTools.Helm(args);
        Assert.True(lint.ExitCode == 0, lint.ToString());
        Assert.Contains("0 chart(s) failed", lint.StdOut);
    }

    [Theory]
    // Wrong types: before the schema, retentionDays=three rendered and the agent then exited 2.
    [InlineData("agent.runStore.retentionDays=three", "/agent/runStore/retentionDays", "want integer")]
    [InlineData("agent.port=http", "/agent/port", "want integer")]
    [InlineData("coordinator.persistence.enabled=yes", "/coordinator/persistence/enabled", "want boolean")]
    // Typos: unknown keys would be ignored silently.
    [InlineData("agent.retentionDays=3", "/agent", "additional properties 'retentionDays' not allowed")]
    [InlineData("coordinator.persistance.size=1Gi", "/coordinator", "additional properties 'persistance' not allowed")]
    [InlineData("agent.racks[0].interface=eth1", "/agent/racks/0", "additional properties 'interface' not allowed")]
    // Values outside what the programs accept.
    [InlineData("tls.mode=off", "/tls/mode", "certManager")]
    [InlineData("agent.attachMode=xdp", "/agent/attachMode", "Clsact")]
    [InlineData("agent.runStore.retentionDays=0", "/agent/runStore/retentionDays", "minimum")]
    [InlineData("agent.racks[0].name=rack one", "/agent/racks/0/name", "does not match pattern")]
    public void BadValue_IsRefused_NamingTheKey(string set, string path, string reason)
    {
        ToolResult helm = ChartTools.Helm("template", "ms", ChartTools.ChartDir, "--set", set);
        Assert.True(helm.ExitCode != 0, $"--set {set} rendered: {helm}");
        Assert.Equal("", helm.StdOut);
        Assert.Contains("values don't meet the specifications of the schema", helm.StdErr);
        Assert.Contains($"at '{path}'", helm.StdErr);
        Assert.Contains(reason, helm.StdErr);
    }

    [Fact]
    public void UnquotedDuration_IsRefused()
    {
        // YAML 1.1 reads an unquoted 00:05:00 as a number; --set gives the number 300.
        ToolResult helm = ChartTools.Helm("template", "ms", ChartTools.ChartDir, "--set", "agent.schedule.period=300");
        Assert.True(helm.ExitCode != 0, helm.ToString());
        Assert.Contains("at '/agent/schedule/period'", helm.StdErr);
        Assert.Contains("want string", helm.StdErr);
    }

    [Fact]
    public void BadValue_IsRefusedByLintToo()
    {
        ToolResult lint = ChartTools.Helm("lint", "--strict", ChartTools.ChartDir, "--set", "agent.runStore.retentionDays=three");
        Assert.True(lint.ExitCode != 0, lint.ToString());
        Assert.Contains("/agent/runStore/retentionDays", lint.StdOut + lint.StdErr);
    }

    [Fact]
    public void Validator_RefusesAnObjectThatBreaksTheKubernetesSchema()
    {
        // Ground truth for the validator itself: a Service whose port is text, and a kind it has no schema for.
        const string yaml = """
            apiVersion: v1
            kind: Service
            metadata: {name: broken}
            spec:
              ports:
                - port: "seventy-four-hundred"
            ---
            apiVersion: example.com/v1
            kind: Gadget
            metadata: {name: g}
            """;
        ToolResult result = ChartTools.Validate(yaml);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("Service/broken: data/spec/ports/0/port must be integer", result.StdOut);
        Assert.Contains("Gadget/g: no schema for apiVersion example.com/v1", result.StdOut);
    }

    [Theory]
    [InlineData("agent.terminationGracePeriodSeconds=10", "must exceed agent.shutdownTimeoutSeconds")]
    [InlineData("agent.racks[0].name=r1,agent.racks[1].name=r1", "give the same resource name")]
    [InlineData("externalPostgres.enabled=true", "externalPostgres.existingSecret")]
    public void Inconsistent_Values_FailWithTheChartsMessage(string set, string message)
    {
        ToolResult helm = ChartTools.Helm("template", "ms", ChartTools.ChartDir, "--set", set);
        Assert.True(helm.ExitCode != 0, helm.ToString());
        Assert.Contains(message, helm.StdErr);
    }
}
