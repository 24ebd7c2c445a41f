using Millisampler.Cli;
using Millisampler.Web.Tests.Infrastructure;

namespace Millisampler.Web.Tests.Report;

/// <summary>
/// <c>millisampler report DIR</c> of the planted rack (Meta-shaped files), opened from disk in headless Chromium: the
/// file's own Content-Security-Policy allows nothing from the network, so a view that needed one would fail here.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class ReportInBrowserTests(HeadlessChromium browser) : IAsyncLifetime
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"ms-web-report-{Guid.NewGuid():N}");
    private readonly CapturePage _page = new(browser);

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "rack"));
        PlantedRack.WriteMeta(Path.Combine(_dir, "rack"));
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = await Cli.Cli.RunAsync(["report", Path.Combine(_dir, "rack"), "--link-speed", "10g", "-o", ReportPath],
            new CliEnvironment(stdout, stderr, GetEnvironmentVariable: _ => null), CancellationToken.None);
        Assert.True(code == 0, $"report exited {code}: {stderr}");
        browser.ConsoleMessages(); // drain what earlier tests left
        browser.OpenCapture(new Uri(ReportPath).AbsoluteUri);
    }

    private string ReportPath => Path.Combine(_dir, "report.html");

    [Fact]
    public void Report_PlantedRack_DrawsBothChartsWithoutErrorsOrCspRefusals()
    {
        _page.AssertDrawnWithoutErrors();
        _page.Browser.Screenshot("report-planted-rack");
    }

    [Fact]
    public void Report_PlantedRack_HotCellsSitAtThePlantedHostsAndBins()
    {
        _page.AssertHotCellsAtPlantedHostsAndBins();
        _page.AssertHeatmapValuesEqualPlantedIngress();
    }

    [Fact]
    public void Report_NarrowChart_MergesBinsPerPixelAndKeepsEveryBurst()
    {
        _page.AssertNarrowHeatmapKeepsEveryBurst();
        _page.Browser.Screenshot("report-narrow-chart");
        _page.AssertNoConsoleErrors();
    }

    [Fact]
    public void Report_HoverOnPlantedCell_TooltipShowsItsHostBinAndUtilization() => _page.AssertTooltipOverPlantedCell();

    [Fact]
    public void Report_Tables_ShowThePlantedEventAndStall()
    {
        _page.AssertTablesShowPlantedNumbers();

        // Offline from files: no coordinator measured any clock, so every host's measured offset is "-" and none is flagged.
        string[][] hosts = _page.Rows("#ms-hosts");
        Assert.Equal(PlantedRack.Hosts, hosts.Select(r => r[0]));
        Assert.All(hosts, r => Assert.Equal("-", r[5]));
        Assert.Equal(0, _page.Browser.Eval("document.querySelectorAll('#ms-offset-warning').length").GetInt32());
        _page.AssertContentionLevelsReadAsDocumented();
    }

    [Fact]
    public void Report_ClickOnPlantedEvent_ZoomsToIt()
    {
        _page.AssertClickOnEventZoomsToIt();
        _page.Browser.Screenshot("report-zoomed-to-event");
        _page.AssertNoConsoleErrors();
    }

    [Fact]
    public void Report_ClickOnPlantedEventInTimeline_ZoomsToIt()
    {
        _page.AssertClickOnEventInTimelineZoomsToIt();
        _page.AssertNoConsoleErrors();
    }

    public Task DisposeAsync()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }

        return Task.CompletedTask;
    }
}
