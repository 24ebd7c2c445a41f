using Millisampler.Coordinator.Api;

namespace Millisampler.Coordinator.Tests.Api;

public sealed class ConfigurationTests
{
    [Fact]
    public async Task ValidateConfiguration_SeveralBadSections_EveryErrorListedWithItsKey()
    {
        await using var app = CoordinatorApp.Build(
        [
            "--Security:Insecure=true",
            "--grpc-url", "https://0.0.0.0:1",
            "--http-url", "http://example.com:2",
            "--db", "",
            "--Coordinator:Captures:LeadTimeFloor=00:00:00",
            "--Coordinator:Membership:StaleAfterMissedHeartbeats=0",
        ]);

        IReadOnlyList<string> errors = CoordinatorApp.ValidateConfiguration(app.Services);

        Assert.Contains(errors, e => e.StartsWith("Coordinator:Membership:StaleAfterMissedHeartbeats:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Coordinator:Captures:LeadTimeFloor:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("Coordinator:Storage:DatabasePath:", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("GrpcUrl: 'https://0.0.0.0:1' must use http://", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("HttpUrl: host 'example.com'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ValidateConfiguration_TypoAndBadValue_BothReported()
    {
        await using var app = CoordinatorApp.Build(["--Coordinator:Captures:LeadTimeFlor=1", "--Coordinator:Membership:HeartbeatInterval=soon"]);

        IReadOnlyList<string> errors = CoordinatorApp.ValidateConfiguration(app.Services);

        Assert.Contains(errors, e => e.Contains("'LeadTimeFlor'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("'soon'", StringComparison.Ordinal) && e.Contains("HeartbeatInterval", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ValidateConfiguration_BadAlertOptions_EveryErrorNamed()
    {
        await using var app = CoordinatorApp.Build(
        [
            "--Security:Insecure=true",
            "--Coordinator:Alerts:RackLabel=rack-name",
            "--Coordinator:Alerts:HostLabel=rack-name",
            "--Coordinator:Alerts:ForwardBinWidth=00:00:01",
            "--Coordinator:Alerts:ForwardBins=2000",
            "--Coordinator:Alerts:MaxAlerts=0",
        ]);
        await using var typo = CoordinatorApp.Build(["--Security:Insecure=true", "--Coordinator:Alerts:Lookbak=true"]);

        IReadOnlyList<string> errors = CoordinatorApp.ValidateConfiguration(app.Services);

        Assert.Contains(errors, e => e.StartsWith("Coordinator:Alerts:MaxAlerts: ", StringComparison.Ordinal));
        Assert.Contains("Coordinator:Alerts: RackLabel: 'rack-name' is not a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*)", errors);
        Assert.Contains("Coordinator:Alerts: HostLabel: 'rack-name' is also the rack label; a label names a rack or a host, not both", errors);
        Assert.Contains("Coordinator:Alerts: ForwardBins × ForwardBinWidth: 2000 × 1s = 2000s is longer than a capture may last, 60s (Coordinator:Captures:MaxCaptureDuration)", errors);
        Assert.Contains(CoordinatorApp.ValidateConfiguration(typo.Services), e => e.Contains("'Lookbak'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ValidateConfiguration_InsecureDefaults_NoErrors()
    {
        await using var app = CoordinatorApp.Build(["--Security:Insecure=true"]);

        Assert.Empty(CoordinatorApp.ValidateConfiguration(app.Services));
    }

    [Fact]
    public async Task RunAsync_BadConfiguration_ExitCodeTwoWithoutStartingTheHost()
    {
        var stderr = new StringWriter();
        TextWriter original = Console.Error;
        Console.SetError(stderr);
        int code;
        try
        {
            code = await CoordinatorApp.RunAsync(["--grpc-url", "ftp://x:1", "--Coordinator:Sweeps:TickInterval=00:00:00"]);
        }
        finally
        {
            Console.SetError(original);
        }

        Assert.Equal(2, code);
        string text = stderr.ToString();
        Assert.StartsWith("millisampler-coordinator: invalid configuration:", text);
        Assert.Contains("GrpcUrl", text);
        Assert.Contains("TickInterval", text);
        Assert.DoesNotContain("   at ", text);
    }

    [Fact]
    public void Defaults_ListenOnLoopbackOnly_WithTlsUnlessInsecure()
    {
        // Issue 8: "everything listens on 0.0.0.0, cleartext, by default". A deployment names its address.
        var defaults = new EndpointOptions();

        Assert.Equal("https://127.0.0.1:7400", defaults.EffectiveGrpcUrl(insecure: false));
        Assert.Equal("https://127.0.0.1:7401", defaults.EffectiveHttpUrl(insecure: false));
        Assert.Equal("http://127.0.0.1:7400", defaults.EffectiveGrpcUrl(insecure: true));
        Assert.Equal("http://127.0.0.1:7401", defaults.EffectiveHttpUrl(insecure: true));
    }

    [Fact]
    public void EndpointValidator_SamePortTwice_Rejected()
    {
        var result = new EndpointOptionsValidator().Validate(null, new EndpointOptions { GrpcUrl = "http://*:7400", HttpUrl = "http://127.0.0.1:7400" });

        Assert.True(result.Failed);
        Assert.Contains("same port 7400", result.FailureMessage);
    }
}
