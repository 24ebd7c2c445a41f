using Millisampler.Agent.Storage;
using Millisampler.Contracts.V1;

namespace Millisampler.Agent.Tests.Storage;

public class RunFileNameTests
{
    [Theory]
    [InlineData("plain-run_01")]
    [InlineData("with space:colon*star?")]
    [InlineData("dots..and.dots")]
    [InlineData("..")]
    [InlineData("tilde~7E~and%percent")]
    [InlineData("unicode-é-漢字-🙂")]
    public void Format_ThenParse_RoundTripsEveryField(string runId)
    {
        var name = new RunFileName(runId, 1_750_000_000_123_456_789, 100_000, RunOrigin.Schedule);

        string fileName = name.Format();

        Assert.True(RunFileName.TryParse(fileName, out var parsed));
        Assert.Equal(name, parsed);
        Assert.DoesNotContain('/', fileName);
        Assert.DoesNotContain("..", fileName);
        Assert.True(fileName.Length <= 255);
    }

    [Fact]
    public void Format_PadsStart_SoNameOrderIsTimeOrder()
    {
        string early = new RunFileName("b", 999_999_999, 1, RunOrigin.Local).Format();
        string late = new RunFileName("a", 1_000_000_000, 1, RunOrigin.Local).Format();

        Assert.True(string.CompareOrdinal(early, late) < 0);
    }

    [Fact]
    public void Format_LongestIdOfFourByteCharacters_FitsFileNameLimit()
    {
        string runId = string.Concat(Enumerable.Repeat("🙂", RunFileName.MaxRunIdUtf8Bytes / 4));
        var name = new RunFileName(runId, long.MaxValue, long.MaxValue, (RunOrigin)int.MinValue);

        Assert.True(RunFileName.IsValidRunId(runId, out _));
        Assert.True(name.Format().Length <= 255);
        Assert.True(RunFileName.TryParse(name.Format(), out var parsed));
        Assert.Equal(name, parsed);
    }

    [Theory]
    [InlineData("../../etc/passwd")]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    [InlineData("")]
    [InlineData("nul\0byte")]
    [InlineData("new\nline")]
    public void IsValidRunId_PathSeparatorsControlCharactersOrBadUnicode_Rejected(string runId)
    {
        Assert.False(RunFileName.IsValidRunId(runId, out string? error));
        Assert.Contains("run_id", error);
    }

    [Fact]
    public void IsValidRunId_UnpairedSurrogate_Rejected()
    {
        // Built here: xunit would replace a lone surrogate in InlineData with U+FFFD.
        string runId = "unpaired-" + '\ud800';

        Assert.False(RunFileName.IsValidRunId(runId, out string? error));
        Assert.Contains("Unicode", error);
    }

    [Fact]
    public void IsValidRunId_LongerThanLimit_RejectedNamingTheLimit()
    {
        Assert.True(RunFileName.IsValidRunId(new string('x', RunFileName.MaxRunIdUtf8Bytes), out _));
        Assert.False(RunFileName.IsValidRunId(new string('x', RunFileName.MaxRunIdUtf8Bytes + 1), out string? error));
        Assert.Contains(RunFileName.MaxRunIdUtf8Bytes.ToString(System.Globalization.CultureInfo.InvariantCulture), error);
    }

    [Theory]
    [InlineData("1750000000000000000_1000000_1_run.run.tmp")]
    [InlineData("1750000000000000000_1000000_1_.run")]
    [InlineData("175000000000000000_1000000_1_run.run")]
    [InlineData("1750000000000000000_1000000_1_run~2e.run")]
    [InlineData("1750000000000000000_1000000_1_~41.run")]
    [InlineData("1750000000000000000_1000000_1_a.b.run")]
    [InlineData("1750000000000000000_1000000_1_a~2F.run")]
    [InlineData("1750000000000000000_1000000_1_a~2.run")]
    [InlineData("1750000000000000000_+1000000_1_a.run")]
    [InlineData("1750000000000000000_1000000_x_a.run")]
    public void TryParse_NonCanonicalOrForeignNames_Rejected(string fileName)
    {
        Assert.False(RunFileName.TryParse(fileName, out _));
    }
}
