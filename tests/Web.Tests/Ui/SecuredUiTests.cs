using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using Millisampler.ServiceDefaults.Security;
using Millisampler.Web.Tests.Infrastructure;
using OpenQA.Selenium;

namespace Millisampler.Web.Tests.Ui;

/// <summary>
/// The read-only UI behind the same authentication and viewer role as the API, on a coordinator in its secure default
/// (TLS, client certificates, bearer tokens). The page and its JSON calls refuse the anonymous caller (401) and an
/// authenticated caller without the viewer role (403); a viewer, by client certificate or by bearer token, gets them.
/// The browser test authenticates as a viewer the way an authenticating proxy in front of the coordinator does: it
/// adds <c>Authorization: Bearer</c> to every request (Chromium's DevTools protocol, Network.setExtraHTTPHeaders);
/// the UI's calls are same-origin, so every one carries it.
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class SecuredUiTests(HeadlessChromium browser, SecureSeededCoordinator coordinator) : IClassFixture<SecureSeededCoordinator>
{
    private static readonly string[] UiAndData =
    [
        "/ui/",
        "/ui/millisampler-ui.js",
        "/api/racks",
        "/api/captures",
        $"/api/captures/{SecureSeededCoordinator.CaptureId}",
        $"/api/captures/{SecureSeededCoordinator.CaptureId}/view",
        $"/api/captures/{SecureSeededCoordinator.CaptureId}/series",
    ];

    private async Task<HttpStatusCode[]> StatusesAsync(HttpClient client, string? bearer = null)
    {
        var codes = new List<HttpStatusCode>();
        foreach (string path in UiAndData)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            if (bearer is not null)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
            }

            using HttpResponseMessage r = await client.SendAsync(request);
            codes.Add(r.StatusCode);
        }

        return [.. codes];
    }

    [Fact]
    public async Task UiAndItsData_Anonymous_401()
    {
        using HttpClient anonymous = coordinator.Client();

        Assert.All(await StatusesAsync(anonymous), c => Assert.Equal(HttpStatusCode.Unauthorized, c));
    }

    [Fact]
    public async Task UiAndItsData_AuthenticatedWithoutViewerRole_403()
    {
        using X509Certificate2 agent = coordinator.ClientCertificate("host-1", Roles.Agent);
        using HttpClient agentClient = coordinator.Client(agent);
        using HttpClient tokenClient = coordinator.Client();

        Assert.All(await StatusesAsync(agentClient), c => Assert.Equal(HttpStatusCode.Forbidden, c));
        Assert.All(await StatusesAsync(tokenClient, coordinator.Token("guest", "nobody")), c => Assert.Equal(HttpStatusCode.Forbidden, c));
    }

    [Fact]
    public async Task UiAndItsData_Viewer_ByCertificateOrToken_200()
    {
        using X509Certificate2 viewer = coordinator.ClientCertificate("victor", Roles.Viewer);
        using HttpClient certificateClient = coordinator.Client(viewer);
        using HttpClient tokenClient = coordinator.Client();

        Assert.All(await StatusesAsync(certificateClient), c => Assert.Equal(HttpStatusCode.OK, c));
        Assert.All(await StatusesAsync(tokenClient, coordinator.Token("vic", "viewer")), c => Assert.Equal(HttpStatusCode.OK, c));
    }

    [Fact]
    public void Browser_AsViewer_RendersThePlantedCapture_AndWithoutCredentialsGetsNothing()
    {
        var page = new CapturePage(browser);
        string url = $"{coordinator.HttpUrl}/ui/#/captures/{Uri.EscapeDataString(SecureSeededCoordinator.CaptureId)}";
        browser.ConsoleMessages();
        try
        {
            browser.Driver.ExecuteCdpCommand("Network.enable", []);
            browser.Driver.ExecuteCdpCommand("Network.setExtraHTTPHeaders", new Dictionary<string, object?>
            {
                ["headers"] = new Dictionary<string, object> { ["Authorization"] = "Bearer " + coordinator.Token("vic", "viewer") },
            });

            browser.OpenCapture(url);
            page.AssertDrawnWithoutErrors();
            page.AssertHotCellsAtPlantedHostsAndBins();
            page.AssertTablesShowPlantedNumbers();
            page.AssertNoConsoleErrors();
        }
        finally
        {
            browser.Driver.ExecuteCdpCommand("Network.setExtraHTTPHeaders", new Dictionary<string, object?> { ["headers"] = new Dictionary<string, object>() });
        }

        // A fresh document (the same URL would only change the fragment and keep the drawn page).
        browser.Driver.Navigate().GoToUrl("about:blank");
        browser.Driver.Navigate().GoToUrl(url);
        Assert.Empty(browser.Driver.FindElements(By.CssSelector("body[data-ms-ready='true']")));
        Assert.DoesNotContain(PlantedRack.RefusedHost, browser.Driver.PageSource, StringComparison.Ordinal);
        browser.ConsoleMessages();
    }
}
