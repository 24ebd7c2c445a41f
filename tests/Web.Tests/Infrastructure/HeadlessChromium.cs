using System.Text.Json;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;
using OpenQA.Selenium.Support.UI;

namespace Millisampler.Web.Tests.Infrastructure;

/// <summary>
/// Debian's chromium, headless, driven through Debian's chromedriver. Both paths are given explicitly, so Selenium never
/// runs Selenium Manager (which would look for, and may download, a driver of its own). One browser serves a test class;
/// each page load starts from a fresh document.
/// </summary>
public sealed class HeadlessChromium : IDisposable
{
    public const string BrowserPath = "/usr/bin/chromium";
    public const string DriverPath = "/usr/bin/chromedriver";

    /// <summary>Viewport, CSS pixels: wide enough for the heatmap's 400 columns and the legend.</summary>
    public const int Width = 1400;
    public const int Height = 1100;

    private readonly ChromeDriverService _service;

    public HeadlessChromium()
    {
        foreach (string path in new[] { BrowserPath, DriverPath })
        {
            if (!File.Exists(path))
            {
                throw new InvalidOperationException($"{path} is missing: the browser tests need Debian's chromium and chromium-driver (scripts/setup.sh installs them).");
            }
        }

        // A service with an explicit driver path: ChromeDriver asks Selenium Manager only when the service has none.
        _service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(DriverPath)!, Path.GetFileName(DriverPath));
        _service.HideCommandPromptWindow = true;
        _service.SuppressInitialDiagnosticInformation = true;
        // The secured UI tests serve TLS with a throw-away CA; the browser takes it as it is (tests only).
        var options = new ChromeOptions { BinaryLocation = BrowserPath, AcceptInsecureCertificates = true };
        options.AddArguments(
            "--headless=new",
            "--no-sandbox", // root in CI containers: Chromium's sandbox refuses to run as root
            "--disable-dev-shm-usage",
            "--disable-gpu",
            "--disable-extensions",
            "--no-first-run",
            "--force-device-scale-factor=1",
            "--lang=en-US",
            $"--window-size={Width},{Height}");
        options.SetLoggingPreference(LogType.Browser, LogLevel.All);
        Driver = new ChromeDriver(_service, options, TimeSpan.FromSeconds(60));
        Driver.Manage().Timeouts().PageLoad = TimeSpan.FromSeconds(60);
        Driver.Manage().Timeouts().AsynchronousJavaScript = TimeSpan.FromSeconds(30);
    }

    public ChromeDriver Driver { get; }

    /// <summary>Opens <paramref name="url"/> and waits until the capture view says it has drawn (body[data-ms-ready]).</summary>
    public void OpenCapture(string url)
    {
        Driver.Navigate().GoToUrl(url);
        WaitUntil(() => Driver.FindElements(By.CssSelector("body[data-ms-ready='true']")).Count > 0
            || Driver.FindElements(By.CssSelector(".error")).Count > 0, "the capture view to draw");
        IReadOnlyCollection<IWebElement> errors = Driver.FindElements(By.CssSelector(".error"));
        if (errors.Count > 0)
        {
            throw new Xunit.Sdk.XunitException($"the page shows an error instead of the capture: {errors.First().Text}");
        }
    }

    /// <summary>Polls <paramref name="condition"/> (no fixed sleeps); fails naming <paramref name="what"/> after 30 s.</summary>
    public void WaitUntil(Func<bool> condition, string what)
    {
        var wait = new WebDriverWait(Driver, TimeSpan.FromSeconds(30)) { PollingInterval = TimeSpan.FromMilliseconds(50) };
        try
        {
            wait.Until(_ => condition());
        }
        catch (WebDriverTimeoutException)
        {
            throw new Xunit.Sdk.XunitException($"timed out waiting for {what}; console: {string.Join(" | ", ConsoleMessages().Select(m => m.Message))}");
        }
    }

    /// <summary>Runs a script and returns its value as JSON (so tests read plain .NET values from it).</summary>
    /// <param name="expression">A JavaScript expression; <c>arguments[i]</c> are <paramref name="args"/>.</param>
    /// <param name="args">Values handed to the script.</param>
    public JsonElement Eval(string expression, params object[] args)
    {
        object? result = Driver.ExecuteScript($"return JSON.stringify({expression});", args);
        using JsonDocument doc = JsonDocument.Parse(result as string ?? "null");
        return doc.RootElement.Clone();
    }

    /// <summary>Console entries since the last call (the browser log is drained on read).</summary>
    public IReadOnlyList<LogEntry> ConsoleMessages() => Driver.Manage().Logs.GetLog(LogType.Browser);

    /// <summary>Saves a PNG of the viewport to the test output's screenshots folder; returns the path.</summary>
    public string Screenshot(string name)
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "screenshots");
        Directory.CreateDirectory(dir);
        string path = Path.Combine(dir, name + ".png");
        Driver.GetScreenshot().SaveAsFile(path);
        return path;
    }

    public void Dispose()
    {
        Driver.Quit();
        Driver.Dispose();
        _service.Dispose();
    }
}
