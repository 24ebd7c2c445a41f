using Millisampler.Cli.Output;
using Millisampler.Cli.Sweeps;
using Millisampler.Cli.Tests.Infrastructure;
using Millisampler.Contracts.V1;

namespace Millisampler.Cli.Tests.Sweeps;

public sealed class SweepsCommandTests
{
    [Fact]
    public void ParseWidthAndWindow_Good()
    {
        Assert.Equal(new SweepWidth { BinWidthNs = 100_000, Bins = 2000 }, SweepsCommand.ParseWidth("100us:2000"));
        Assert.Equal(new SweepWidth { BinWidthNs = 10_000_000, Bins = 5 }, SweepsCommand.ParseWidth("10ms:5"));
        Assert.Equal(new SweepWindow { StartMinute = 1320, EndMinute = 150 }, SweepsCommand.ParseWindow("22:00-02:30"));
    }

    [Theory]
    [InlineData("--width", "1ms", "--width: '1ms' must be WIDTH:BINS")]
    [InlineData("--width", "fast:10", "--width: 'fast:10' must be WIDTH:BINS")]
    [InlineData("--window", "22-02", "--window: '22-02' must be HH:MM-HH:MM")]
    [InlineData("--period", "soon", "--period: 'soon' must be a duration")]
    public async Task Create_BadInput_ExitTwoOneLine(string option, string value, string message)
    {
        CliResult r = await CliRun.RunAsync("sweeps", "create", "s1", option, value, "--coordinator", "http://127.0.0.1:9");

        Assert.Equal(ExitCodes.Usage, r.ExitCode);
        Assert.Contains(message, r.Stderr);
        Assert.Single(r.Stderr.Trim().Split('\n'));
    }

    [Theory]
    [InlineData(new[] { "--from", "yesterday" }, "--from: 'yesterday' must be a UTC date or time")]
    [InlineData(new[] { "--to", "2026-13-01" }, "--to: '2026-13-01' must be a UTC date or time")]
    [InlineData(new[] { "--from", "2026-11-02", "--to", "2026-11-01" }, "--from 2026-11-02 00:00:00.000 must be before --to 2026-11-01 00:00:00.000")]
    [InlineData(new[] { "--from", "2026-11-01", "--since", "7d" }, "--from and --since: give only one")]
    public async Task Report_BadPeriod_ExitTwoOneLine(string[] period, string message)
    {
        CliResult r = await CliRun.RunAsync(["sweeps", "report", .. period, "--coordinator", "http://127.0.0.1:9"]);

        Assert.Equal(ExitCodes.Usage, r.ExitCode);
        Assert.Contains(message, r.Stderr);
        Assert.Single(r.Stderr.Trim().Split('\n'));
    }

    [Fact]
    public async Task Create_TwoRackSelectors_Refused()
    {
        CliResult r = await CliRun.RunAsync("sweeps", "create", "s1", "--all-racks", "--pattern", "p*", "--coordinator", "http://127.0.0.1:9");
        Assert.Equal(ExitCodes.Usage, r.ExitCode);
        Assert.Contains("give only one", r.Stderr);
    }

    [Fact]
    public void RenderReport_TrendsRankingsAndPast()
    {
        var report = new SweepReport { FromUnixNs = 1_763_769_600_000_000_000, ToUnixNs = 1_763_856_000_000_000_000 };
        report.Trends.Add(new TrendRow
        {
            Rack = "r1",
            BinWidthNs = 1_000_000,
            BucketStartUnixNs = 1_763_769_600_000_000_000,
            Captures = 3,
            BurstsPerHostSecond = 12.5,
            MeanContention = 0.75,
            ContendedBinShare = 0.125,
            LossyContendedBinShare = 0.0625,
            CeFraction = 0.01,
            RetransmitFraction = 0.002,
            MaxRackIngressFraction = 0.9,
            SyncEvents = 4,
        });
        report.ByContention.Add(new RankRow { Rank = 1, Rack = "r1", Value = 0.125, Captures = 3 });
        report.ByContentionWithLoss.Add(new RankRow { Rank = 1, Rack = "r1", Value = 0.0625, Captures = 3 });
        report.ComparedWithPast.Add(new RackComparison
        {
            Rack = "r1",
            BinWidthNs = 1_000_000,
            Current = report.Trends[0],
            Previous = new TrendRow { ContendedBinShare = 0.1 },
            ContendedBinShareChange = 0.025,
            LossyContendedBinShareChange = 0.0625,
        });
        var text = new StringWriter();

        SweepsCommand.RenderReport(CliConsole.Create(text, terminal: false), report);

        string s = text.ToString();
        Assert.Matches(@"(?m)^r1\s+1ms\s+2025-11-22 00:00:00.000\s+3\s+12.5\s+0.75\s+12.5%\s+6.25%\s+1%\s+0.2%\s+90%\s+4$", s);
        Assert.Matches(@"(?m)^1\s+r1\s+12.5%\s+3$", s);
        Assert.Matches(@"(?m)^r1\s+1ms\s+12.5%\s+10%\s+\+2.5 pt\s+6.25%\s+0%\s+\+6.25 pt$", s);
    }
}
