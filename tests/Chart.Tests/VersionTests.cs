using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Millisampler.Chart.Tests;

/// <summary>One version everywhere: Directory.Build.props' &lt;Version&gt;, the chart, the image tags, the binaries.</summary>
public sealed partial class VersionTests
{
    private static string BuildVersion =>
        XDocument.Load(Path.Combine(ChartTools.RepoRoot, "Directory.Build.props")).Descendants("Version").Single().Value.Trim();

    [Fact]
    public void Chart_VersionAndAppVersion_AreTheBuildsVersion()
    {
        string chart = File.ReadAllText(Path.Combine(ChartTools.ChartDir, "Chart.yaml"));
        Assert.Equal(BuildVersion, ChartVersion().Match(chart).Groups[1].Value);
        Assert.Equal(BuildVersion, AppVersion().Match(chart).Groups[1].Value);
    }

    [Fact]
    public void ImageTags_DefaultToTheBuildsVersion()
    {
        var objects = ChartTools.Render();
        Assert.Equal($"millisampler/agent:{BuildVersion}", objects.Single("DaemonSet", "ms-millisampler-agent-r1").Container().GetProperty("image").GetString());
        Assert.Equal($"millisampler/coordinator:{BuildVersion}", objects.Single("Deployment", "ms-millisampler-coordinator").Container().GetProperty("image").GetString());
    }

    [Theory]
    [InlineData("millisampler-agent.dll")]
    [InlineData("millisampler-coordinator.dll")]
    [InlineData("millisampler.dll")]
    public void Binaries_PrintTheBuildsVersion(string dll)
    {
        ToolResult run = ChartTools.Run("dotnet", [Path.Combine(AppContext.BaseDirectory, dll), "--version"], stdin: null);
        Assert.True(run.ExitCode == 0, run.ToString());
        // The informational version: the version, then "+<source revision>" when built from git.
        Assert.Equal(BuildVersion, run.StdOut.Trim().Split('+')[0]);
    }

    [Fact]
    public void AgentVersion_ItRegistersWith_IsTheBuildsVersion()
    {
        // AgentVersion.Text, sent in Register and GetInfo, is the agent assembly's informational version.
        string? text = typeof(Agent.Service.AgentOptions).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        Assert.Equal(BuildVersion, text?.Split('+')[0]);
    }

    [GeneratedRegex(@"(?m)^version:\s*""?([^""\s]+)""?\s*$")]
    private static partial Regex ChartVersion();

    [GeneratedRegex(@"(?m)^appVersion:\s*""?([^""\s]+)""?\s*$")]
    private static partial Regex AppVersion();
}
