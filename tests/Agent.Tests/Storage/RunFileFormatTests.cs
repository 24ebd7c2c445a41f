using System.Buffers.Binary;
using Millisampler.Agent.Storage;
using Millisampler.Benchmarks;

namespace Millisampler.Agent.Tests.Storage;

public class RunFileFormatTests
{
    private static readonly byte[] File = RunFileFormat.Encode(StoreSyntheticRuns.Realistic("format", seed: 7));

    [Fact]
    public void Crc32_StandardCheckValue()
    {
        Assert.Equal(0xCBF43926u, Crc32.Compute("123456789"u8));
    }

    [Fact]
    public void Encode_ThenDecode_ReturnsEqualRun()
    {
        var run = StoreSyntheticRuns.Realistic("format", seed: 7);

        Assert.True(RunFileFormat.TryDecode(RunFileFormat.Encode(run), out var decoded, out _));
        StoreTestRuns.AssertSameRun(run, decoded);
    }

    [Fact]
    public void TryReadSummary_ReturnsSummaryFieldsWithoutSeries()
    {
        var run = StoreSyntheticRuns.Realistic("format", seed: 7);
        run.StatusDetail = "cut at bin 1200";

        Assert.True(RunFileFormat.TryReadSummary(RunFileFormat.Encode(run), out var summary, out _));
        Assert.Equal(RunFileFormat.Summarize(run), summary);
        Assert.Equal("cut at bin 1200", summary!.StatusDetail);
    }

    [Fact]
    public void Encode_StartsWithMagicVersionAndStatesExactLength()
    {
        Assert.True(File.AsSpan().StartsWith("MSRN"u8));
        Assert.Equal(RunFileFormat.CurrentVersion, BinaryPrimitives.ReadUInt16LittleEndian(File.AsSpan(4)));
        int summary = BinaryPrimitives.ReadInt32LittleEndian(File.AsSpan(8));
        int payload = BinaryPrimitives.ReadInt32LittleEndian(File.AsSpan(12));
        Assert.Equal(File.Length, RunFileFormat.HeaderLength + summary + payload);
    }

    [Fact]
    public void TryDecode_AnySingleFlippedByte_Rejected()
    {
        // Every header byte, then a stride through summary and payload.
        var offsets = Enumerable.Range(0, RunFileFormat.HeaderLength).Concat(Enumerable.Range(0, File.Length / 97).Select(i => RunFileFormat.HeaderLength + (i * 97)));
        foreach (int offset in offsets.Where(o => o < File.Length))
        {
            var copy = (byte[])File.Clone();
            copy[offset] ^= 0x5A;

            Assert.False(RunFileFormat.TryDecode(copy, out var run, out _), $"flip at {offset} was accepted");
            Assert.Null(run);
            Assert.False(RunFileFormat.TryReadSummary(copy, out _, out _), $"flip at {offset} was accepted by summary");
        }
    }

    [Fact]
    public void TryDecode_FlippedPayloadByte_ReportsChecksumMismatch()
    {
        var copy = (byte[])File.Clone();
        copy[^10] ^= 0x01;

        Assert.False(RunFileFormat.TryDecode(copy, out _, out var defect));
        Assert.Equal(RunFileDefect.ChecksumMismatch, defect);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(23)]
    [InlineData(24)]
    [InlineData(1000)]
    public void TryDecode_TruncatedFile_ReportsTruncated(int keepBytes)
    {
        Assert.False(RunFileFormat.TryDecode(File.AsSpan(0, keepBytes), out _, out var defect));
        Assert.Equal(RunFileDefect.Truncated, defect);
    }

    [Fact]
    public void TryDecode_TrailingGarbage_ReportsLengthMismatch()
    {
        Assert.False(RunFileFormat.TryDecode([.. File, 0], out _, out var defect));
        Assert.Equal(RunFileDefect.LengthMismatch, defect);
    }

    [Fact]
    public void TryDecode_OtherMagic_ReportsBadMagic()
    {
        var copy = (byte[])File.Clone();
        "PK\u0003\u0004"u8.CopyTo(copy);

        Assert.False(RunFileFormat.TryDecode(copy, out _, out var defect));
        Assert.Equal(RunFileDefect.BadMagic, defect);
    }

    [Fact]
    public void TryDecode_NewerVersion_ReportsUnsupportedVersion()
    {
        var copy = (byte[])File.Clone();
        BinaryPrimitives.WriteUInt16LittleEndian(copy.AsSpan(4), 2);

        Assert.False(RunFileFormat.TryDecode(copy, out _, out var defect));
        Assert.Equal(RunFileDefect.UnsupportedVersion, defect);
    }
}
