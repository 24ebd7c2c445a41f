using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Millisampler.Agent.Storage;
using Millisampler.StoreCrashWriter;
using Xunit.Abstractions;

namespace Millisampler.Agent.Tests.Storage;

/// <summary>
/// Kills a real writer process (SIGKILL) while it saves runs, in even rounds as soon as a new file
/// appears (so mostly mid-write), in odd rounds at an arbitrary moment, then opens the directory:
/// every run there must decode whole and equal what was saved. SIGKILL keeps the page
/// cache, so this proves the rename protocol (nothing torn is ever visible under a run name), not
/// the fsyncs, which only a power cut would exercise.
/// </summary>
public sealed class RunStoreCrashTests(ITestOutputHelper output) : IDisposable
{
    private const int Rounds = 10;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task WriterKilledMidWrite_NewStoreServesOnlyWholeRuns()
    {
        var random = new Random(20250615);
        int leftoverTempFiles = 0;
        int totalRuns = 0;

        for (int round = 0; round < Rounds; round++)
        {
            int before = StoreTestRuns.RunFiles(_dir.Path).Length;
            using (var watcher = new FileSystemWatcher(_dir.Path))
            using (var writer = StartWriter(_dir.Path, firstIndex: round * 100_000))
            {
                try
                {
                    await WaitUntilAsync(() => StoreTestRuns.RunFiles(_dir.Path).Length >= before + 2 + random.Next(4), writer);
                    if (round % 2 == 0)
                    {
                        // Kill as soon as the next file appears: most likely while it is being written.
                        var created = new TaskCompletionSource();
                        watcher.Created += (_, _) =>
                        {
                            try
                            {
                                writer.Kill();
                            }
                            catch (InvalidOperationException)
                            {
                            }

                            created.TrySetResult();
                        };
                        watcher.EnableRaisingEvents = true;
                        await created.Task.WaitAsync(TimeSpan.FromSeconds(60));
                    }
                    else
                    {
                        // Kill at an arbitrary moment of the loop.
                        Thread.Sleep(random.Next(40));
                        writer.Kill();
                    }
                }
                finally
                {
                    if (!writer.HasExited)
                    {
                        writer.Kill();
                    }

                    await writer.WaitForExitAsync();
                }
            }

            leftoverTempFiles += Directory.GetFiles(_dir.Path, "*.tmp").Length;
            var logger = new FakeLogger<RunStore>();
            using var store = StoreTestRuns.Open(_dir.Path, logger: logger);

            var summaries = await store.ListAsync(0, 0, 0, int.MaxValue, CancellationToken.None);
            Assert.Equal(StoreTestRuns.RunFiles(_dir.Path).Length, summaries.Count);
            Assert.True(summaries.Count > before, $"round {round}: writer saved nothing");
            foreach (var summary in summaries)
            {
                var run = await store.TryGetAsync(summary.RunId, CancellationToken.None);
                int index = int.Parse(summary.RunId[CrashRuns.Prefix.Length..], System.Globalization.CultureInfo.InvariantCulture);
                StoreTestRuns.AssertSameRun(CrashRuns.Create(index), run);
            }

            Assert.Empty(logger.AtLeast(LogLevel.Warning));
            Assert.Empty(Directory.GetFiles(_dir.Path, "*.tmp"));
            Assert.Empty(Directory.GetFiles(Path.Combine(_dir.Path, "quarantine")));
            totalRuns = summaries.Count;
        }

        output.WriteLine($"{Rounds} kills, {totalRuns} whole runs, {leftoverTempFiles} interrupted writes cleaned up");
    }

    private static Process StartWriter(string directory, int firstIndex)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "StoreCrashWriter.dll");
        Assert.True(File.Exists(dll), $"{dll} missing: tests/Agent.Tests references tests/StoreCrashWriter so it is copied there");
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
        var start = new ProcessStartInfo(dotnet)
        {
            ArgumentList = { dll, directory, firstIndex.ToString(System.Globalization.CultureInfo.InvariantCulture) },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        return Process.Start(start) ?? throw new InvalidOperationException("could not start the crash writer");
    }

    private static async Task WaitUntilAsync(Func<bool> condition, Process writer)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!condition())
        {
            if (writer.HasExited)
            {
                Assert.Fail($"crash writer exited with {writer.ExitCode}: {await writer.StandardError.ReadToEndAsync()}");
            }

            Assert.True(DateTime.UtcNow < deadline, "crash writer wrote too few runs within 60 s");
            await Task.Delay(5);
        }
    }
}
