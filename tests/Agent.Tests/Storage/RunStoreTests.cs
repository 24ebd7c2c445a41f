using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Millisampler.Agent.Storage;
using Millisampler.Benchmarks;
using Millisampler.Contracts.V1;
using static Millisampler.Agent.Tests.Storage.StoreTestRuns;

namespace Millisampler.Agent.Tests.Storage;

public sealed class RunStoreTests : IDisposable
{
    private static readonly CancellationToken Ct = CancellationToken.None;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task SaveAsync_ThenTryGetAsync_ReturnsEqualRun()
    {
        using var store = Open(_dir.Path);
        var run = StoreSyntheticRuns.Realistic("round-trip", seed: 3, startTaiNs: NowNs);

        await store.SaveAsync(run, Ct);

        AssertSameRun(run, await store.TryGetAsync("round-trip", Ct));
        Assert.Equal(1, store.Count);
        Assert.Equal(new FileInfo(Path.Combine(_dir.Path, RunFiles(_dir.Path).Single())).Length, store.TotalBytes);
    }

    [Fact]
    public async Task TryGetAsync_UnknownRun_ReturnsNull()
    {
        using var store = Open(_dir.Path);

        Assert.Null(await store.TryGetAsync("never-saved", Ct));
    }

    [Fact]
    public async Task SaveAsync_IdNeedingEscapes_StaysInDirectoryAndRoundTrips()
    {
        using var store = Open(_dir.Path);
        var run = Small("..%~ é:*?", NowNs);

        await store.SaveAsync(run, Ct);

        AssertSameRun(run, await store.TryGetAsync("..%~ é:*?", Ct));
        Assert.Single(RunFiles(_dir.Path));
    }

    [Theory]
    [InlineData("../escape")]
    [InlineData("/etc/passwd")]
    [InlineData("")]
    public async Task SaveAsync_PathTraversalOrEmptyId_ThrowsAndWritesNothing(string runId)
    {
        using var store = Open(_dir.Path);

        await Assert.ThrowsAsync<ArgumentException>(() => store.SaveAsync(Small(runId, NowNs), Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => store.TryGetAsync(runId, Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => store.PinAsync(runId, Ct));
        Assert.Empty(RunFiles(_dir.Path));
    }

    [Fact]
    public async Task SaveAsync_SameIdTwice_ReplacesRun()
    {
        using var store = Open(_dir.Path);
        await store.SaveAsync(Small("again", NowNs, seed: 1), Ct);
        var second = Small("again", NowNs + Second, seed: 2);
        second.Status = RunStatus.CutShort;

        await store.SaveAsync(second, Ct);

        AssertSameRun(second, await store.TryGetAsync("again", Ct));
        Assert.Single(RunFiles(_dir.Path));
        Assert.Equal(1, store.Count);
        var listed = Assert.Single(await store.ListAsync(0, 0, 0, 10, Ct));
        Assert.Equal(RunStatus.CutShort, listed.Status);
    }

    [Fact]
    public async Task ListAsync_FiltersByStartRangeAndBinWidth_NewestFirst()
    {
        using var store = Open(_dir.Path);
        await store.SaveAsync(Small("ms-0", NowNs + (0 * Second)), Ct);
        await store.SaveAsync(Small("ms-1", NowNs + (10 * Second)), Ct);
        await store.SaveAsync(Small("ms-2", NowNs + (20 * Second)), Ct);
        await store.SaveAsync(Small("us-1", NowNs + (10 * Second), binWidthNs: 100_000, origin: RunOrigin.Schedule), Ct);

        var oneMs = await store.ListAsync(0, 0, 1_000_000, 100, Ct);
        var range = await store.ListAsync(NowNs + (10 * Second), NowNs + (20 * Second), 0, 100, Ct);
        var all = await store.ListAsync(0, 0, 0, 100, Ct);
        var newestTwo = await store.ListAsync(0, 0, 1_000_000, 2, Ct);

        Assert.Equal(["ms-2", "ms-1", "ms-0"], oneMs.Select(s => s.RunId));
        Assert.Equal(["ms-1", "us-1"], range.Select(s => s.RunId));
        Assert.Equal(4, all.Count);
        Assert.Equal(["ms-2", "ms-1"], newestTwo.Select(s => s.RunId));
        var us = all.Single(s => s.RunId == "us-1");
        Assert.Equal(RunOrigin.Schedule, us.Origin);
        Assert.Equal(100_000, us.BinWidthNs);
        Assert.Equal(100u, us.Bins);
        Assert.Equal(100u, us.BinsRecorded);
        Assert.Equal(RunStatus.Complete, us.Status);
    }

    [Fact]
    public async Task MarkedArmed_NotSaved_LeftoverAtNextOpen_SavedOnes_NotLeftover()
    {
        var stored = Small("stored", NowNs);
        using (var store = Open(_dir.Path))
        {
            await store.MarkArmedAsync(new RunSummary { RunId = "killed armed", StartTaiNs = NowNs + Second, BinWidthNs = 1_000_000, Bins = 500, Origin = RunOrigin.Coordinator }, Ct);
            await store.MarkArmedAsync(RunFileFormat.Summarize(stored), Ct);
            await store.SaveAsync(stored, Ct);
        }

        using var reopened = Open(_dir.Path);

        RunSummary leftover = Assert.Single(reopened.LeftoverArmed);
        Assert.Equal(("killed armed", NowNs + Second, 1_000_000L, 500u, RunOrigin.Coordinator),
            (leftover.RunId, leftover.StartTaiNs, leftover.BinWidthNs, leftover.Bins, leftover.Origin));
        Assert.Equal(1, reopened.Count);
    }

    [Fact]
    public async Task NewInstanceOnSameDirectory_SeesRunsSummariesAndPins()
    {
        var run = StoreSyntheticRuns.Realistic("survivor", seed: 5, startTaiNs: NowNs);
        using (var store = Open(_dir.Path))
        {
            await store.SaveAsync(run, Ct);
            await store.SaveAsync(Small("other", NowNs - Second), Ct);
            await store.PinAsync("survivor", Ct);
            await store.PinAsync("scheduled-not-saved-yet", Ct);
        }

        using var reopened = Open(_dir.Path);

        Assert.Equal(2, reopened.Count);
        AssertSameRun(run, await reopened.TryGetAsync("survivor", Ct));
        Assert.Equal(["survivor", "other"], (await reopened.ListAsync(0, 0, 0, 10, Ct)).Select(s => s.RunId));
        Assert.True(reopened.IsPinned("survivor"));
        Assert.True(reopened.IsPinned("scheduled-not-saved-yet"));
        Assert.False(reopened.IsPinned("other"));
    }

    [Fact]
    public void SecondInstanceOnOpenDirectory_Throws()
    {
        using var store = Open(_dir.Path);

        var e = Assert.Throws<IOException>(() => Open(_dir.Path));
        Assert.Contains("in use", e.Message);
    }

    [Fact]
    public async Task Open_LeftoverTempFiles_DeletedAndNeverServed()
    {
        using (var store = Open(_dir.Path))
        {
            await store.SaveAsync(Small("whole", NowNs), Ct);
        }

        // What a crash between create and rename leaves: a temp file, possibly half written.
        var torn = RunFileFormat.Encode(Small("torn", NowNs));
        await File.WriteAllBytesAsync(Path.Combine(_dir.Path, "~" + Guid.NewGuid().ToString("N") + ".tmp"), torn.AsSpan(0, torn.Length / 2).ToArray());
        var logger = new FakeLogger<RunStore>();

        using var reopened = Open(_dir.Path, logger: logger);

        Assert.Empty(Directory.GetFiles(_dir.Path, "*.tmp"));
        Assert.Equal(["whole"], (await reopened.ListAsync(0, 0, 0, 10, Ct)).Select(s => s.RunId));
        Assert.Contains(logger.Entries, e => e.EventId.Id == 2102);
    }

    [Theory]
    [InlineData("flip-payload")]
    [InlineData("flip-header")]
    [InlineData("truncate")]
    [InlineData("empty")]
    [InlineData("garbage")]
    public async Task CorruptFile_SkippedQuarantinedAndWarned(string damage)
    {
        using (var store = Open(_dir.Path))
        {
            await store.SaveAsync(Small("good", NowNs), Ct);
            await store.SaveAsync(Small("bad", NowNs + Second), Ct);
        }

        string badPath = Directory.GetFiles(_dir.Path, "*_bad.run").Single();
        byte[] bytes = await File.ReadAllBytesAsync(badPath);
        byte[] damaged = damage switch
        {
            "flip-payload" => Flip(bytes, bytes.Length - 100),
            "flip-header" => Flip(bytes, 13),
            "truncate" => bytes[..(bytes.Length - 1)],
            "empty" => [],
            _ => new byte[bytes.Length],
        };
        await File.WriteAllBytesAsync(badPath, damaged);
        var logger = new FakeLogger<RunStore>();
        using var reopened = Open(_dir.Path, logger: logger);

        var listed = await reopened.ListAsync(0, 0, 0, 10, Ct);
        var fetched = await reopened.TryGetAsync("bad", Ct);

        Assert.Equal(["good"], listed.Select(s => s.RunId));
        Assert.Null(fetched);
        Assert.NotNull(await reopened.TryGetAsync("good", Ct));
        var warning = Assert.Single(logger.AtLeast(LogLevel.Warning));
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Equal(2103, warning.EventId.Id);
        Assert.Contains(Path.GetFileName(badPath), warning.Message);
        Assert.False(File.Exists(badPath));
        Assert.True(File.Exists(Path.Combine(_dir.Path, "quarantine", Path.GetFileName(badPath))));
        Assert.Equal(1, reopened.Count);
    }

    [Fact]
    public async Task CorruptFile_FoundByTryGetFirst_NotServedThenNotListed()
    {
        using var store = Open(_dir.Path, logger: new FakeLogger<RunStore>());
        await store.SaveAsync(Small("bad", NowNs), Ct);
        string path = Directory.GetFiles(_dir.Path, "*.run").Single();
        await File.WriteAllBytesAsync(path, Flip(await File.ReadAllBytesAsync(path), 40));

        Assert.Null(await store.TryGetAsync("bad", Ct));
        Assert.Empty(await store.ListAsync(0, 0, 0, 10, Ct));
    }

    [Fact]
    public async Task FileRenamedToAnotherRunsName_NotServed()
    {
        using (var store = Open(_dir.Path))
        {
            await store.SaveAsync(Small("real", NowNs), Ct);
        }

        string path = Directory.GetFiles(_dir.Path, "*.run").Single();
        File.Move(path, path.Replace("_real.run", "_impostor.run", StringComparison.Ordinal));
        var logger = new FakeLogger<RunStore>();
        using var reopened = Open(_dir.Path, logger: logger);

        Assert.Null(await reopened.TryGetAsync("impostor", Ct));
        Assert.Contains(logger.Entries, e => e.EventId.Id == 2103);
    }

    [Fact]
    public async Task Open_RunExtensionWithForeignName_Quarantined()
    {
        await File.WriteAllTextAsync(Path.Combine(_dir.Path, "notes.run"), "hello");
        var logger = new FakeLogger<RunStore>();

        using var store = Open(_dir.Path, logger: logger);

        Assert.Equal(0, store.Count);
        Assert.Contains(logger.Entries, e => e.EventId.Id == 2104 && e.Level == LogLevel.Warning);
        Assert.True(File.Exists(Path.Combine(_dir.Path, "quarantine", "notes.run")));
    }

    [Fact]
    public async Task EnforceRetention_ByAge_DeletesOldRunsKeepsPinnedAndYoung()
    {
        var time = new FakeTimeProvider(Now);
        using var store = Open(_dir.Path, time, retentionDays: 3);
        await store.SaveAsync(Small("day-0", NowNs), Ct);
        await store.SaveAsync(Small("day-1", NowNs + Day), Ct);
        await store.SaveAsync(Small("day-0-pinned", NowNs + 1), Ct);
        await store.PinAsync("day-0-pinned", Ct);

        time.Advance(TimeSpan.FromDays(3) - TimeSpan.FromMinutes(1));
        var nothingYet = await store.EnforceRetentionAsync(Ct);
        time.Advance(TimeSpan.FromMinutes(2));
        var result = await store.EnforceRetentionAsync(Ct);

        Assert.Equal(0, nothingYet.DeletedByAge);
        Assert.Equal(1, result.DeletedByAge);
        Assert.Equal(0, result.DeletedBySize);
        Assert.Equal(1, result.PinnedKept);
        Assert.Equal(2, result.RemainingRuns);
        Assert.Null(await store.TryGetAsync("day-0", Ct));
        Assert.NotNull(await store.TryGetAsync("day-0-pinned", Ct));
        Assert.NotNull(await store.TryGetAsync("day-1", Ct));
        Assert.Equal(2, RunFiles(_dir.Path).Length);
    }

    [Fact]
    public async Task EnforceRetention_BySize_DeletesOldestUnpinnedFirstUntilUnderBudget()
    {
        using var sizing = new TempDirectory();
        long runBytes;
        using (var probe = Open(sizing.Path))
        {
            await probe.SaveAsync(StoreSyntheticRuns.Realistic("probe", seed: 1, startTaiNs: NowNs), Ct);
            runBytes = probe.TotalBytes;
        }

        // Realistic 2,000-bin runs are ~20 KiB: 60 of them need the 1 MiB minimum budget to hold ~45.
        const int Runs = 60;
        using var store = Open(_dir.Path, maxTotalBytes: 1 << 20);
        for (int i = 0; i < Runs; i++)
        {
            await store.SaveAsync(StoreSyntheticRuns.Realistic($"r{i:D2}", seed: 1, startTaiNs: NowNs + (i * Second)), Ct);
        }

        await store.PinAsync("r00", Ct);
        await store.PinAsync("r05", Ct);
        long before = store.TotalBytes;

        var result = await store.EnforceRetentionAsync(Ct);

        Assert.True(before > 1 << 20);
        Assert.Equal(0, result.DeletedByAge);
        Assert.True(result.DeletedBySize > 0);
        Assert.True(store.TotalBytes <= 1 << 20);
        Assert.True(store.TotalBytes > (1 << 20) - (2 * runBytes), "deleted more than needed");
        Assert.Equal(2, result.PinnedKept);
        var kept = (await store.ListAsync(0, 0, 0, 100, Ct)).Select(s => s.RunId).ToHashSet();
        Assert.Contains("r00", kept);
        Assert.Contains("r05", kept);
        var unpinnedKept = kept.Except(["r00", "r05"]).Order().ToArray();
        var expectedUnpinned = Enumerable.Range(Runs - unpinnedKept.Length, unpinnedKept.Length).Select(i => $"r{i:D2}").ToArray();
        Assert.Equal(expectedUnpinned, unpinnedKept);
        Assert.Equal(kept.Count, RunFiles(_dir.Path).Length);
        Assert.Equal(result.RemainingBytes, RunFiles(_dir.Path).Sum(f => new FileInfo(Path.Combine(_dir.Path, f)).Length));
    }

    [Fact]
    public async Task EnforceRetention_AfterUnpin_DeletesFormerlyPinnedRun()
    {
        var time = new FakeTimeProvider(Now);
        using var store = Open(_dir.Path, time);
        await store.SaveAsync(Small("fetched", NowNs), Ct);
        await store.PinAsync("fetched", Ct);
        time.Advance(TimeSpan.FromDays(4));
        Assert.Equal(0, (await store.EnforceRetentionAsync(Ct)).DeletedByAge);

        await store.UnpinAsync("fetched", Ct);
        var result = await store.EnforceRetentionAsync(Ct);

        Assert.Equal(1, result.DeletedByAge);
        Assert.False(store.IsPinned("fetched"));
    }

    [Fact]
    public async Task Pins_SurviveRestart_AndProtectFromRetentionAfterIt()
    {
        using (var store = Open(_dir.Path))
        {
            await store.SaveAsync(Small("pinned", NowNs), Ct);
            await store.SaveAsync(Small("loose", NowNs + 1), Ct);
            await store.PinAsync("pinned", Ct);
        }

        var time = new FakeTimeProvider(Now + TimeSpan.FromDays(10));
        using var reopened = Open(_dir.Path, time);
        var result = await reopened.EnforceRetentionAsync(Ct);

        Assert.Equal(1, result.DeletedByAge);
        Assert.NotNull(await reopened.TryGetAsync("pinned", Ct));
        Assert.Null(await reopened.TryGetAsync("loose", Ct));
    }

    [Fact]
    public async Task EnforceRetention_OldQuarantineFiles_Deleted()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        using var store = Open(_dir.Path, time);
        string quarantined = Path.Combine(_dir.Path, "quarantine", "old.run");
        await File.WriteAllTextAsync(quarantined, "x");
        await store.EnforceRetentionAsync(Ct);
        Assert.True(File.Exists(quarantined));

        time.Advance(TimeSpan.FromDays(4));
        await store.EnforceRetentionAsync(Ct);

        Assert.False(File.Exists(quarantined));
    }

    [Fact]
    public async Task ConcurrentSavesReadsListsAndRetention_AllRunsWholeAndIndexConsistent()
    {
        using var store = Open(_dir.Path);
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(async () =>
        {
            for (int i = 0; i < 25; i++)
            {
                await store.SaveAsync(Small($"w{w}-{i}", NowNs + (((w * 25) + i) * Second), seed: (w * 100) + i), Ct);
            }
        }));
        var readers = Enumerable.Range(0, 2).Select(r => Task.Run(async () =>
        {
            for (int i = 0; i < 50; i++)
            {
                foreach (var summary in await store.ListAsync(0, 0, 0, 20, Ct))
                {
                    var run = await store.TryGetAsync(summary.RunId, Ct);
                    Assert.NotNull(run);
                    Assert.Equal(summary.RunId, run.RunId);
                }

                await store.EnforceRetentionAsync(Ct);
            }
        }));

        await Task.WhenAll(writers.Concat(readers));

        Assert.Equal(100, store.Count);
        Assert.Equal(100, RunFiles(_dir.Path).Length);
        Assert.Equal(store.TotalBytes, RunFiles(_dir.Path).Sum(f => new FileInfo(Path.Combine(_dir.Path, f)).Length));
        Assert.Empty(Directory.GetFiles(_dir.Path, "*.tmp"));
    }

    private static byte[] Flip(byte[] bytes, int offset)
    {
        var copy = (byte[])bytes.Clone();
        copy[offset] ^= 0xFF;
        return copy;
    }
}
