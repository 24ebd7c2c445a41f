namespace Millisampler.Lab.Tests;

[Collection(LabCollection.Name)]
public sealed class ProgramTests
{
    private static readonly string Exe = Path.Combine(AppContext.BaseDirectory, "millisampler-lab");

    [Fact]
    public async Task Cleanup_DeletesStaleNamespacesWithThePrefix()
    {
        var stale = "ms-lt-cli-999999999r00-h1";
        await Shell.RunAsync("ip", ["netns", "add", stale]);
        try
        {
            var r = await Shell.RunAsync(Exe, ["cleanup", "--prefix", "ms-lt-cli-"]);

            Assert.Contains($"deleted {stale}", r.StdOut, StringComparison.Ordinal);
            Assert.False(NetNs.Exists(stale));
        }
        finally
        {
            await Shell.TryRunAsync("ip", ["netns", "del", stale]);
        }
    }

    [Fact]
    public async Task Cleanup_PrefixOutsideMs_ExitsWithUsageError()
    {
        var r = await Shell.TryRunAsync(Exe, ["cleanup", "--prefix", "lab-"]);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("must start with 'ms-'", r.StdErr, StringComparison.Ordinal);
    }
}
