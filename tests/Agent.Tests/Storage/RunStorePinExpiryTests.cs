using Microsoft.Extensions.Time.Testing;
using Millisampler.Agent.Storage;
using static Millisampler.Agent.Tests.Storage.StoreTestRuns;

namespace Millisampler.Agent.Tests.Storage;

/// <summary>Pins lapse after <see cref="RunStoreOptions.PinExpiryMinutes"/>, so unfetched runs cannot hold the disk forever.</summary>
public sealed class RunStorePinExpiryTests : IDisposable
{
    private static readonly CancellationToken Ct = CancellationToken.None;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Defaults_PinsLapseAfterAnHour_AtMost100Pinned()
    {
        var o = new RunStoreOptions();
        Assert.Equal(60, o.PinExpiryMinutes);
        Assert.Equal(100, o.MaxPinnedRuns);
    }

    [Fact]
    public async Task EnforceRetention_PinLapsed_RunDeletedByAgeAndSize()
    {
        var time = new FakeTimeProvider(Now);
        using var store = Open(_dir.Path, time, retentionDays: 1, pinExpiryMinutes: 60);
        await store.SaveAsync(Small("never-fetched", NowNs), Ct);
        await store.PinAsync("never-fetched", Ct);

        time.Advance(TimeSpan.FromMinutes(59));
        Assert.True(store.IsPinned("never-fetched"));
        Assert.Equal(["never-fetched"], store.PinnedRunIds());

        time.Advance(TimeSpan.FromMinutes(2));
        Assert.False(store.IsPinned("never-fetched"));
        Assert.Empty(store.PinnedRunIds());

        time.Advance(TimeSpan.FromDays(1));
        var result = await store.EnforceRetentionAsync(Ct);

        Assert.Equal(1, result.DeletedByAge);
        Assert.Equal(0, result.PinnedKept);
        Assert.Null(await store.TryGetAsync("never-fetched", Ct));
    }

    [Fact]
    public async Task Pins_KeepTheirTimeAcrossRestart()
    {
        var time = new FakeTimeProvider(Now);
        using (var store = Open(_dir.Path, time, pinExpiryMinutes: 60))
        {
            await store.PinAsync("pinned-before-restart", Ct);
        }

        time.Advance(TimeSpan.FromMinutes(30));
        using (var reopened = Open(_dir.Path, time, pinExpiryMinutes: 60))
        {
            Assert.True(reopened.IsPinned("pinned-before-restart"));
        }

        time.Advance(TimeSpan.FromMinutes(31));
        using var later = Open(_dir.Path, time, pinExpiryMinutes: 60);
        Assert.False(later.IsPinned("pinned-before-restart"));
        await later.EnforceRetentionAsync(Ct);
        Assert.DoesNotContain("pinned-before-restart", await File.ReadAllTextAsync(Path.Combine(_dir.Path, "pins"), Ct));
    }

    [Fact]
    public async Task Pins_OldFileWithoutTimes_CountFromOpen()
    {
        await File.WriteAllTextAsync(Path.Combine(_dir.Path, "pins"), "# old format\nold-pin\n", Ct);
        var time = new FakeTimeProvider(Now);
        using var store = Open(_dir.Path, time, pinExpiryMinutes: 60);

        Assert.True(store.IsPinned("old-pin"));
        time.Advance(TimeSpan.FromMinutes(61));
        Assert.False(store.IsPinned("old-pin"));
    }
}
