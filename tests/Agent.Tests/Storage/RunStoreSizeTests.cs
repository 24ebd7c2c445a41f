using Millisampler.Agent.Storage;
using Millisampler.Benchmarks;
using Xunit.Abstractions;

namespace Millisampler.Agent.Tests.Storage;

public sealed class RunStoreSizeTests(ITestOutputHelper output) : IDisposable
{
    private const int MaxRunFileBytes = 64 * 1024;
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public async Task SaveAsync_Realistic2000BinRunWithAll12Series_FileAtMost64KiB(int seed)
    {
        var run = StoreSyntheticRuns.Realistic($"size-{seed}", seed);
        var s = run.Series;
        Assert.All(
            new[] { s.IngressBytes.Count, s.EgressBytes.Count, s.IngressPackets.Count, s.EgressPackets.Count, s.IngressCeBytes.Count, s.IngressRetransmitBytes.Count, s.EgressRetransmitBytes.Count, s.IngressCrossRegionBytes.Count, s.EgressCrossRegionBytes.Count, s.Connections.Count, s.IngressConnections.Count, s.EgressConnections.Count },
            count => Assert.Equal(2_000, count));
        Assert.InRange(s.IngressBytes.Max(), 1_000_000ul, 1_600_000ul);
        Assert.Contains(0ul, s.IngressBytes);
        using var store = StoreTestRuns.Open(_dir.Path);

        await store.SaveAsync(run, CancellationToken.None);

        long bytes = new FileInfo(Path.Combine(_dir.Path, StoreTestRuns.RunFiles(_dir.Path).Single())).Length;
        output.WriteLine($"seed {seed}: {bytes} bytes on disk (protobuf alone {Google.Protobuf.MessageExtensions.ToByteArray(run).Length})");
        Assert.True(bytes <= MaxRunFileBytes, $"{bytes} bytes > 64 KiB");
    }

    [Fact]
    public void Encode_WorstCaseRandom2000BinRun_StillAtMost64KiB()
    {
        int bytes = RunFileFormat.Encode(StoreSyntheticRuns.WorstCase("worst", seed: 1)).Length;

        output.WriteLine($"worst case: {bytes} bytes");
        Assert.True(bytes <= MaxRunFileBytes, $"{bytes} bytes > 64 KiB");
    }
}
