using Millisampler.Cli.Tests.Infrastructure;
using Millisampler.Contracts.V1;

namespace Millisampler.Cli.Tests.Captures;

/// <summary><c>capture --lookback</c> and <c>--around/--before/--after</c>: the window fields sent, and usage errors.</summary>
public class CaptureWindowOptionsTests
{
    [Fact]
    public async Task Capture_Lookback_SendsTheWindowWithoutBinsOrWidth()
    {
        await using FakeCoordinator fake = await FakeCoordinator.StartAsync();

        CliResult r = await CliRun.RunAsync("capture", "--coordinator", fake.Address.ToString(), "--rack", "r1", "--lookback", "2s");

        Assert.Equal(ExitCodes.Ok, r.ExitCode);
        StartCaptureRequest sent = Assert.Single(fake.Service.StartRequests);
        Assert.Equal(StartCaptureRequest.WindowOneofCase.LookbackNs, sent.WindowCase);
        Assert.Equal(2_000_000_000, sent.LookbackNs);
        Assert.Equal(0u, sent.Bins);
        Assert.Equal(0, sent.BinWidthNs);
    }

    [Fact]
    public async Task Capture_AroundRfc3339_SendsTheUnixInstantBeforeAndAfter()
    {
        await using FakeCoordinator fake = await FakeCoordinator.StartAsync();

        CliResult r = await CliRun.RunAsync("capture", "--coordinator", fake.Address.ToString(), "--rack", "r1",
            "--around", "2026-12-02T16:45:00.250+01:00", "--before", "1500ms", "--after", "500ms", "--interval", "1ms");

        Assert.Equal(ExitCodes.Ok, r.ExitCode);
        StartCaptureRequest sent = Assert.Single(fake.Service.StartRequests);
        Assert.Equal(new DateTimeOffset(2026, 12, 2, 15, 45, 0, 250, TimeSpan.Zero).ToUnixTimeMilliseconds() * 1_000_000, sent.Around.InstantUnixNs);
        Assert.Equal(1_500_000_000, sent.Around.BeforeNs);
        Assert.Equal(500_000_000, sent.Around.AfterNs);
        Assert.Equal(1_000_000, sent.BinWidthNs);
    }

    [Theory]
    [InlineData("now-5s", -5_000_000_000L)]
    [InlineData("now", 0L)]
    [InlineData("now+250ms", 250_000_000L)]
    public void RelativeInstant_NowWithOffset_RelativeToNow(string text, long deltaNs)
    {
        var now = new DateTimeOffset(2026, 12, 2, 16, 45, 0, TimeSpan.Zero);
        Assert.True(CommonOptions.TryParseRelativeInstant(text, now, out long ns));
        Assert.Equal((now.ToUnixTimeMilliseconds() * 1_000_000) + deltaNs, ns);
    }

    [Theory]
    [InlineData("--lookback", "2s", "--around", "now", "--lookback and --around: give one window, not both")]
    [InlineData("--before", "1s", "--samples", "10", "--before/--after: only with --around")]
    [InlineData("--lookback", "2s", "--samples", "10", "--samples: not with a window")]
    [InlineData("--around", "yesterday", "--before", "1s", "--around: 'yesterday' must be an RFC 3339 time like 2026-12-02T16:45:00Z, or now, now-5s, now+1s")]
    [InlineData("--lookback", "2", "--before", "1s", "--lookback: '2' must be a duration like 2s, 500ms")]
    public async Task Capture_BadWindowOptions_UsageErrorNamingTheOption(string o1, string v1, string o2, string v2, string message)
    {
        await using FakeCoordinator fake = await FakeCoordinator.StartAsync();

        CliResult r = await CliRun.RunAsync("capture", "--coordinator", fake.Address.ToString(), "--rack", "r1", o1, v1, o2, v2);

        Assert.Equal(ExitCodes.Usage, r.ExitCode);
        Assert.Contains(message, r.Stderr);
        Assert.Empty(fake.Service.StartRequests);
    }
}
