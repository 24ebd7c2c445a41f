using Millisampler.Agent.Service;

namespace Millisampler.Agent.Tests.Service;

public sealed class AgentConfigurationTests
{
    [Fact]
    public void Defaults_ListenOnLoopbackOnly_WithTlsUnlessInsecure()
    {
        // Issue 8: "everything listens on 0.0.0.0, cleartext, by default". A deployment names its address.
        Assert.Equal("https://127.0.0.1:7300", AgentOptions.DefaultListen(insecure: false));
        Assert.Equal("http://127.0.0.1:7300", AgentOptions.DefaultListen(insecure: true));
        Assert.Equal("http://127.0.0.1:7301", new AgentOptions().MetricsListen);
    }

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

    [Theory]
    [InlineData("--Agent:Lookback:DepthBins=1000", "Agent:Lookback:DepthBins: 1000 must be a power of two in 64..65536")]
    [InlineData("--Agent:Lookback:DepthBins=32", "Agent:Lookback:DepthBins: 32 must be a power of two in 64..65536")]
    [InlineData("--Agent:Lookback:BinWidth=00:00:00.000001", "Agent:Lookback:BinWidth: 00:00:00.0000010 must be 10 µs..1 s")]
    [InlineData("--Agent:Lookback:BinWidth=00:00:02", "Agent:Lookback:BinWidth: 00:00:02 must be 10 µs..1 s")]
    public void ValidateConfiguration_ImpossibleLookbackRing_NamesTheKeyAndRange(string setting, string expected)
    {
        using var app = AgentApp.Build(["--Agent:Interfaces:0=eth0", "--Security:Insecure=true", setting]);

        var error = Assert.Single(AgentApp.ValidateConfiguration(app.Services));
        Assert.StartsWith(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void ValidateConfiguration_LookbackOff_ShapeNotChecked()
    {
        using var app = AgentApp.Build(["--Agent:Interfaces:0=eth0", "--Security:Insecure=true", "--Agent:Lookback:Enabled=false", "--Agent:Lookback:DepthBins=3"]);

        Assert.Empty(AgentApp.ValidateConfiguration(app.Services));
    }
}
