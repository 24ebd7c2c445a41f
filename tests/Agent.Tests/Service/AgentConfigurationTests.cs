using Millisampler.Agent.Service;

namespace Millisampler.Agent.Tests.Service;

public sealed class AgentConfigurationTests
{
    [Fact]
    public void ValidateConfiguration_SeveralBadSettings_ListsEveryErrorNamingItsKey()
    {
        using var app = AgentApp.Build(
        [
            "--Agent:MaxBins=0", "--Agent:ArmLead=00:00:00.001", "--Agent:CoordinatorAddress=nope",
            "--Agent:Schedule:Jitter=00:10:00", "--Agent:Schedule:BinWidths=10ms,fast", "--Agent:RunStore:RetentionDays=0",
            "--Agent:Listen=ftp://x",
        ]);

        var errors = AgentApp.ValidateConfiguration(app.Services);

        string[] keys =
        [
            "Agent:Listen:", "Agent:Interfaces:", "Agent:MaxBins:", "Agent:ArmLead:", "Agent:CoordinatorAddress:", "Agent:Rack:",
            "Agent:Schedule:BinWidths:", "Agent:Schedule:Jitter:", "Agent:RunStore:",
        ];
        foreach (var key in keys)
        {
            Assert.Contains(errors, e => e.StartsWith(key, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void ValidateConfiguration_ValueThatDoesNotConvert_ReportedWithItsKey()
    {
        using var app = AgentApp.Build(["--Agent:Interfaces:0=eth0", "--Agent:MaxBins=lots"]);

        var errors = AgentApp.ValidateConfiguration(app.Services);

        Assert.Contains(errors, e => e.Contains("'lots' at 'Agent:MaxBins'", StringComparison.Ordinal));
    }

    [Fact]
    public void ValidateConfiguration_InsecureDefaults_WithAnInterface_AreValid()
    {
        using var app = AgentApp.Build(["--Agent:Interfaces:0=eth0", "--Security:Insecure=true"]);

        Assert.Empty(AgentApp.ValidateConfiguration(app.Services));
    }
}
