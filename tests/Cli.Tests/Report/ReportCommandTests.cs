using System.IO.Compression;
using System.Text.Json;
using System.Text.RegularExpressions;
using Millisampler.Cli.Tests.Infrastructure;

namespace Millisampler.Cli.Tests.Report;

public class ReportCommandTests
{
    [Fact]
    public async Task Report_MetaDirectory_WritesOneSelfContainedHtmlWithTheSeriesAndTheEvent()
    {
        using var dir = new TempDirectory();
        TestRack.WriteMeta(dir.Path);
        string html = Path.Combine(dir.Path, "out", "report.html");
        Directory.CreateDirectory(Path.GetDirectoryName(html)!);

        CliResult r = await CliRun.RunAsync("report", dir.Path, "--link-speed", "10g", "-o", html);

        Assert.Equal(ExitCodes.Ok, r.ExitCode);
        Assert.Equal("", r.Stderr);
        Assert.Contains("3 hosts x 100 bins", r.Stdout);
        string text = await File.ReadAllTextAsync(html);
        Assert.DoesNotMatch(@"<script[^>]+src=|<link[^>]+href=|https?://[a-z0-9.-]+/[^""' ]*\.(js|css)", text);
        Assert.Contains("echarts", text, StringComparison.OrdinalIgnoreCase);

        // The data block is gzip'd JSON: the view of the capture with every host's series on its bins.
        string b64 = Regex.Match(text, "<script type=\"application/gzip-base64\" id=\"ms-data\">([^<]*)</script>").Groups[1].Value;
        using var gz = new GZipStream(new MemoryStream(Convert.FromBase64String(b64)), CompressionMode.Decompress);
        using JsonDocument view = await JsonDocument.ParseAsync(gz);
        JsonElement hosts = view.RootElement.GetProperty("hosts");
        Assert.Equal(["a", "b", "c"], hosts.EnumerateArray().Select(h => h.GetProperty("host").GetString()));
        Assert.Equal(TestRack.Ingress("a").Select(v => (double)v), hosts[0].GetProperty("ingress").EnumerateArray().Select(v => v.GetDouble()));
        JsonElement ev = Assert.Single(view.RootElement.GetProperty("capture").GetProperty("analysis").GetProperty("events").EnumerateArray());
        Assert.Equal(40, ev.GetProperty("startBin").GetInt32());
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(html)!, "*.tmp"));
    }

    [Fact]
    public async Task Report_ExistingFileWithoutForce_ExitsTwoAndLeavesItAlone()
    {
        using var dir = new TempDirectory();
        TestRack.WriteMeta(dir.Path);
        string html = Path.Combine(dir.Path, "report.html");
        await File.WriteAllTextAsync(html, "keep");

        CliResult r = await CliRun.RunAsync("report", dir.Path, "--link-speed", "10g", "-o", html);

        Assert.Equal(ExitCodes.Usage, r.ExitCode);
        Assert.Contains("already exists", r.Stderr);
        Assert.Equal("keep", await File.ReadAllTextAsync(html));
    }
}
