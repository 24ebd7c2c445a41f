using System.Diagnostics;
using System.IO.Compression;
using Millisampler.Cli.Tests.Infrastructure;

namespace Millisampler.Cli.Tests.Packaging;

/// <summary>
/// scripts/package-cli.sh builds the dotnet tool package and a self-contained single-file linux-x64 binary, and that
/// binary runs on its own: --version prints the product's version, --help lists the commands. It needs the runtime pack
/// (Microsoft.NETCore.App.Runtime.linux-x64) from the NuGet feed, like any self-contained publish.
/// </summary>
public class PackageCliScriptTests
{
    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Millisampler.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Millisampler.sln not found above " + AppContext.BaseDirectory);
    }

    private static (int Code, string Output) Run(string file, IEnumerable<string> args, IDictionary<string, string>? env = null)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }

        foreach ((string k, string v) in env ?? new Dictionary<string, string>())
        {
            start.Environment[k] = v;
        }

        using Process p = Process.Start(start)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        p.WaitForExit();
        return (p.ExitCode, stdout.Result + stderr.Result);
    }

    [Fact]
    public void PackageScript_BuildsToolPackageAndLinuxX64Binary_ThatRunsWithoutDotnet()
    {
        string root = RepoRoot();
        using var artifacts = new TempDirectory();

        var script = Run(Path.Combine(root, "scripts", "package-cli.sh"), ["linux-x64"], new Dictionary<string, string> { ["MILLISAMPLER_ARTIFACTS"] = artifacts.Path });
        Assert.True(script.Code == 0, script.Output);

        string package = Assert.Single(Directory.GetFiles(Path.Combine(artifacts.Path, "tool"), "Millisampler.Cli.*.nupkg"));
        using (ZipArchive zip = ZipFile.OpenRead(package))
        {
            ZipArchiveEntry settings = Assert.Single(zip.Entries, e => e.FullName.EndsWith("DotnetToolSettings.xml", StringComparison.Ordinal));
            using var reader = new StreamReader(settings.Open());
            Assert.Contains("<Command Name=\"millisampler\"", reader.ReadToEnd());
        }

        string binary = Path.Combine(artifacts.Path, "linux-x64", "millisampler");
        Assert.True(File.Exists(binary), script.Output);
        Assert.Single(Directory.GetFiles(Path.Combine(artifacts.Path, "linux-x64")));

        // Without dotnet on PATH and without DOTNET_ROOT: the binary carries its own runtime.
        var clean = new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin", ["DOTNET_ROOT"] = "/nonexistent" };
        var version = Run(binary, ["--version"], clean);
        var help = Run(binary, ["--help"], clean);

        Assert.True(version.Code == 0, version.Output);
        Assert.StartsWith(typeof(Cli).Assembly.GetName().Version!.ToString(3), version.Output.Trim());
        Assert.True(help.Code == 0, help.Output);
        Assert.Contains("capture", help.Output);
        Assert.Contains("completion", help.Output);
    }
}
