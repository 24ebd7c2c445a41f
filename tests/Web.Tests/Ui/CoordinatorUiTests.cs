using System.Net;
using System.Text.Json;
using Millisampler.Web.Tests.Infrastructure;
using OpenQA.Selenium;

namespace Millisampler.Web.Tests.Ui;

/// <summary>The coordinator's /ui/ in headless Chromium, served with its own CSP, reading the planted capture from the store.</summary>
[Collection(BrowserCollection.Name)]
public sealed class CoordinatorUiTests(HeadlessChromium browser, SeededCoordinator coordinator) : IClassFixture<SeededCoordinator>
{
    private readonly CapturePage _page = new(browser);

    private static string CaptureUrl(SeededCoordinator c, string id) => $"{c.HttpUrl}/ui/#/captures/{Uri.EscapeDataString(id)}";

    [Fact]
    public void Ui_CapturePage_DrawsThePlantedCaptureWithoutErrorsOrCspRefusals()
    {
        browser.ConsoleMessages();
        browser.OpenCapture(CaptureUrl(coordinator, SeededCoordinator.CaptureId));
        _page.AssertDrawnWithoutErrors();
        _page.AssertHotCellsAtPlantedHostsAndBins();
        _page.AssertHeatmapValuesEqualPlantedIngress();
        _page.AssertTablesShowPlantedNumbers();
        _page.AssertHostTableShowsMeasuredOffsets();
        string[] missing = Assert.Single(_page.Rows("#ms-missing"));
        Assert.Equal([PlantedRack.RefusedHost, "refused", $"0/{PlantedRack.Bins}", PlantedRack.RefusedReason], missing);
        browser.Screenshot("ui-capture");
        _page.AssertTooltipOverPlantedCell();
        _page.AssertClickOnEventZoomsToIt();
        _page.AssertNoConsoleErrors();
    }

    [Fact]
    public async Task Ui_Served_WithAPolicyThatAllowsOnlyItsOwnOrigin()
    {
        using HttpResponseMessage r = await coordinator.Http.GetAsync("/ui/");
        Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        string csp = string.Join(";", r.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("script-src 'self'", csp);
        Assert.DoesNotContain("unsafe-eval", csp);
    }

    [Fact]
    public void Ui_HomePage_ListsTheCaptureAndItsLinkOpensIt()
    {
        browser.ConsoleMessages();
        browser.Driver.Navigate().GoToUrl($"{coordinator.HttpUrl}/ui/");
        browser.WaitUntil(() => browser.Driver.FindElements(By.CssSelector("#ms-captures table")).Count > 0, "the capture list");
        string[] row = Assert.Single(_page.Rows("#ms-captures"));
        Assert.Equal(SeededCoordinator.CaptureId, row[0]);
        Assert.Equal(PlantedRack.Rack, row[1]);
        Assert.Equal("12/13", row[5]);
        Assert.Equal($"{PlantedRack.Bins} × 1 ms", row[6]);
        Assert.Equal("analysed", row[4]);
        browser.Screenshot("ui-home");

        browser.Driver.FindElement(By.LinkText(SeededCoordinator.CaptureId)).Click();
        browser.WaitUntil(() => browser.Driver.FindElements(By.CssSelector("body[data-ms-ready='true']")).Count > 0, "the capture view");
        _page.AssertDrawnWithoutErrors();
    }

    [Fact]
    public async Task Ui_UnknownCaptureId_ShowsANotFoundPageAndTheApiAnswers404()
    {
        const string id = "no-such-capture";
        browser.ConsoleMessages();
        browser.Driver.Navigate().GoToUrl(CaptureUrl(coordinator, id));
        browser.WaitUntil(() => browser.Driver.FindElements(By.Id("ms-error-title")).Count > 0, "the not-found page");
        Assert.Equal("Capture not found (HTTP 404)", browser.Driver.FindElement(By.Id("ms-error-title")).Text);
        string message = browser.Driver.FindElement(By.CssSelector(".error")).Text;
        Assert.Contains($"No capture has the id '{id}'", message);
        Assert.Contains($"capture '{id}' not found", message);
        Assert.NotEmpty(browser.Driver.FindElements(By.LinkText("← racks and captures")));
        // The browser itself logs the failed fetch; nothing else may be an error.
        _page.AssertNoConsoleErrors("404 (Not Found)");

        using HttpResponseMessage r = await coordinator.Http.GetAsync($"/api/captures/{id}/view");
        Assert.Equal(HttpStatusCode.NotFound, r.StatusCode);
        using JsonDocument body = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
        Assert.Equal("NOT_FOUND", body.RootElement.GetProperty("code").GetString());
        Assert.Equal($"capture '{id}' not found", body.RootElement.GetProperty("message").GetString());
    }

    [Theory]
    [InlineData("%20", "capture_id: required")]
    [InlineData("LONG", "capture_id: 200 characters; at most 128 (capture ids are UUIDs)")]
    public async Task ViewApi_BadId_Answers400InvalidArgumentNamingTheField(string id, string message)
    {
        if (id == "LONG")
        {
            id = new string('x', 200);
        }

        using HttpResponseMessage r = await coordinator.Http.GetAsync($"/api/captures/{id}/view");

        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        using JsonDocument body = JsonDocument.Parse(await r.Content.ReadAsStringAsync());
        Assert.Equal("INVALID_ARGUMENT", body.RootElement.GetProperty("code").GetString());
        Assert.Equal(message, body.RootElement.GetProperty("message").GetString());
    }

    [Fact]
    public void Ui_OverlongCaptureId_ShowsTheApisReasonNotACrash()
    {
        string id = new('x', 200);
        browser.ConsoleMessages();
        browser.Driver.Navigate().GoToUrl(CaptureUrl(coordinator, id));
        browser.WaitUntil(() => browser.Driver.FindElements(By.Id("ms-error-title")).Count > 0, "the error page");
        Assert.Equal("Capture cannot be shown (HTTP 400 INVALID_ARGUMENT)", browser.Driver.FindElement(By.Id("ms-error-title")).Text);
        Assert.Contains("capture_id: 200 characters; at most 128", browser.Driver.FindElement(By.CssSelector(".error")).Text);
        _page.AssertNoConsoleErrors("400 (Bad Request)");
    }
}
