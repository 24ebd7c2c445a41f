using Millisampler.Agent.Service;

namespace Millisampler.Agent.Tests.Triggers;

/// <summary>Trigger rules with impossible values fail the agent's start with every error named.</summary>
public sealed class TriggerConfigurationTests
{
    [Fact]
    public void ImpossibleRules_EachErrorNamesItsKeyAndRange()
    {
        using var app = AgentApp.Build(
        [
            "--Agent:Interfaces:0=eth0", "--Security:Insecure=true",
            "--Agent:Triggers:Rules:0:Name=incast", "--Agent:Triggers:Rules:0:Kind=IngressCongestion", "--Agent:Triggers:Rules:0:Utilization=1.5",
            "--Agent:Triggers:Rules:1:Name=incast", "--Agent:Triggers:Rules:1:Kind=RetransmitRate", "--Agent:Triggers:Rules:1:RetransmitBytesPerSecond=-1",
            "--Agent:Triggers:Rules:2:Name=bad name", "--Agent:Triggers:Rules:2:Kind=IngressStall", "--Agent:Triggers:Rules:2:Bins=5000",
            "--Agent:Triggers:Rules:3:Name=nokind", "--Agent:Triggers:Rules:3:Cooldown=-00:00:01",
            "--Agent:Triggers:PollInterval=00:00:05",
        ]);

        var errors = AgentApp.ValidateConfiguration(app.Services);

        string[] expected =
        [
            "Agent:Triggers:Rules:0:Utilization: 1.5 must be a fraction of line rate in (0, 1].",
            "Agent:Triggers:Rules:1:Name: 'incast' is used by another rule",
            "Agent:Triggers:Rules:1:RetransmitBytesPerSecond: -1 must be a positive rate",
            "Agent:Triggers:Rules:2:Name: 'bad name' must be 1..64 letters",
            "Agent:Triggers:Rules:2:Bins: 5000 must be 1..4080",
            "Agent:Triggers:Rules:3:Kind: must be IngressCongestion, RetransmitRate or IngressStall.",
            "Agent:Triggers:Rules:3:Cooldown: -00:00:01 must be 0..1 day.",
            "Agent:Triggers:PollInterval: 00:00:05 must be 1 ms..1 s.",
        ];
        foreach (var e in expected)
        {
            Assert.Contains(errors, x => x.StartsWith(e, StringComparison.Ordinal));
        }
        Assert.Equal(expected.Length, errors.Count);
    }

    [Fact]
    public void Rules_WithTheRingOff_AreAnError()
    {
        using var app = AgentApp.Build(
        [
            "--Agent:Interfaces:0=eth0", "--Security:Insecure=true", "--Agent:Lookback:Enabled=false",
            "--Agent:Triggers:Rules:0:Name=stall", "--Agent:Triggers:Rules:0:Kind=IngressStall",
        ]);

        var error = Assert.Single(AgentApp.ValidateConfiguration(app.Services));
        Assert.StartsWith("Agent:Triggers:Rules: the rules watch the look-back ring, which is off", error, StringComparison.Ordinal);
    }
}
