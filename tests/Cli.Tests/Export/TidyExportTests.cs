using Millisampler.Cli.Tests.Infrastructure;
using Millisampler.Contracts.V1;
using Parquet;
using Parquet.Schema;

namespace Millisampler.Cli.Tests.Export;

/// <summary>
/// <c>export --format parquet|csv</c>: the files read back with a real reader (Parquet.Net's own, the one DuckDB-style
/// tools agree with on the format) hold TestRack's numbers, one row per host and bin, times in TAI and UTC.
/// </summary>
public class TidyExportTests
{
    // TestRack starts at 1,763,823,637 s TAI; TAI − UTC is 37 s, so bin 0 begins at 2025-11-22 15:00:00 UTC.
    private static readonly DateTime Bin0Utc = new(2025, 11, 22, 15, 0, 0, DateTimeKind.Utc);

    private static FakeCoordinatorService WithSeries(string captureId)
    {
        var service = new FakeCoordinatorService();
        var failed = new Run { RunId = "run-d", Host = "d", Rack = "r1", BinWidthNs = 1_000_000, Bins = TestRack.Bins, Status = RunStatus.Failed, StatusDetail = "agent refused: busy" };
        service.Series[captureId] = [TestRack.Run("b"), TestRack.Run("a"), TestRack.Run("c"), failed];
        service.Captures[captureId] = TestRack.CaptureOf(captureId, "a", "b", "c", "d");
        return service;
    }

    [Fact]
    public async Task ExportParquet_ReadBack_HoldsEveryHostsSeriesOneRowPerBin()
    {
        await using FakeCoordinator fake = await FakeCoordinator.StartAsync(WithSeries("cap-x"));
        using var dir = new TempDirectory();

        CliResult r = await CliRun.RunAsync("export", "cap-x", dir.Path, "--format", "parquet", "--coordinator", fake.Address.ToString());

        Assert.Equal(ExitCodes.Ok, r.ExitCode);
        string path = Path.Combine(dir.Path, "cap-x.parquet");
        Assert.Equal([path], Directory.GetFiles(dir.Path));
        Assert.Contains("d: skipped, no data (agent refused: busy)", r.Stdout);
        Assert.Matches($@"Wrote 300 rows \(3 hosts\) of capture cap-x to {System.Text.RegularExpressions.Regex.Escape(path)} \([\d.]+ k?B\)", r.Stdout);

        await using ParquetReader reader = await ParquetReader.CreateAsync(path);
        Assert.Equal("cap-x", reader.CustomMetadata["millisampler.capture_id"]);
        Assert.Equal(3, reader.RowGroupCount);
        DataField F(string name) => reader.Schema.DataFields.Single(f => f.Name == name);
        string[] hosts = ["a", "b", "c"];
        for (int g = 0; g < 3; g++)
        {
            using ParquetRowGroupReader group = reader.OpenRowGroupReader(g);
            Assert.Equal(TestRack.Bins, group.RowCount);
            string host = hosts[g];
            Assert.All(await Strings(group, F("host")), h => Assert.Equal(host, h));
            Assert.All(await Strings(group, F("rack")), v => Assert.Equal("r1", v));
            Assert.All(await Strings(group, F("capture_id")), v => Assert.Equal("cap-x", v));
            Assert.Equal(Enumerable.Range(0, TestRack.Bins), await Values<int>(group, F("bin")));
            Assert.Equal(Enumerable.Range(0, TestRack.Bins).Select(b => 1_763_823_637_000_000_000L + (b * 1_000_000L)), await Values<long>(group, F("time_tai_ns")));
            Assert.Equal(Enumerable.Range(0, TestRack.Bins).Select(b => Bin0Utc.AddMilliseconds(b)), await Values<DateTime>(group, F("time_utc")));
            Assert.All(await Nullables<long>(group, F("link_speed_bits_per_second")), v => Assert.Equal(10_000_000_000L, v));
            Assert.All(await Nullables<long>(group, F("clock_error_ns")), v => Assert.Equal(50_000L, v));
            Assert.Equal(TestRack.Ingress(host).Select(v => (long?)v), await Nullables<long>(group, F("ingress_bytes")));
            Assert.Equal(TestRack.Ce(host).Select(v => (long?)v), await Nullables<long>(group, F("ingress_ce_bytes")));
            Assert.Equal(TestRack.Retransmits(host).Select(v => (long?)v), await Nullables<long>(group, F("ingress_retransmit_bytes")));
            Assert.All(await Nullables<long>(group, F("connections")), v => Assert.Equal(4L, v));
            Assert.All(await Nullables<long>(group, F("ingress_connections")), v => Assert.Equal(3L, v));
            // TestRack's agent measured no packets and no cross-region bytes: null, not zero.
            Assert.All(await Nullables<long>(group, F("ingress_packets")), v => Assert.Null(v));
            Assert.All(await Nullables<long>(group, F("ingress_cross_region_bytes")), v => Assert.Null(v));
        }

        var utc = (DateTimeDataField)F("time_utc");
        Assert.True(utc.IsAdjustedToUTC);
    }

    [Fact]
    public async Task ExportCsv_HeaderAndOneRowPerHostAndBin_WithUtcAndEmptyForUnmeasured()
    {
        await using FakeCoordinator fake = await FakeCoordinator.StartAsync(WithSeries("cap-x"));
        using var dir = new TempDirectory();

        CliResult r = await CliRun.RunAsync("export", "cap-x", dir.Path, "--format", "csv", "--coordinator", fake.Address.ToString());

        Assert.Equal(ExitCodes.Ok, r.ExitCode);
        string[] lines = await File.ReadAllLinesAsync(Path.Combine(dir.Path, "cap-x.csv"));
        Assert.Equal(1 + (3 * TestRack.Bins), lines.Length);
        string[] header = lines[0].Split(',');
        Assert.Equal(["capture_id", "rack", "host", "run_id", "bin", "time_tai_ns", "time_utc"], header[..7]);
        var rows = lines[1..].Select(l => header.Zip(l.Split(',')).ToDictionary(p => p.First, p => p.Second)).ToList();
        Dictionary<string, string> a10 = rows.Single(x => x["host"] == "a" && x["bin"] == "10");
        Assert.Equal("1000000", a10["ingress_bytes"]);
        Assert.Equal("2025-11-22T15:00:00.010000Z", a10["time_utc"]);
        Assert.Equal("1763823637010000000", a10["time_tai_ns"]);
        Assert.Equal("", a10["ingress_packets"]);
        Dictionary<string, string> c41 = rows.Single(x => x["host"] == "c" && x["bin"] == "41");
        Assert.Equal("2000", c41["ingress_retransmit_bytes"]);
        Assert.Equal(TestRack.Ingress("b").Select(v => v.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            rows.Where(x => x["host"] == "b").Select(x => x["ingress_bytes"]));
        Assert.DoesNotContain(rows, x => x["host"] == "d");
    }

    [Fact]
    public async Task ExportParquet_FileExists_RefusedUnlessForcedAndNoPartialFileLeft()
    {
        await using FakeCoordinator fake = await FakeCoordinator.StartAsync(WithSeries("cap-x"));
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "cap-x.parquet");
        await File.WriteAllTextAsync(path, "keep me");

        CliResult refused = await CliRun.RunAsync("export", "cap-x", dir.Path, "--format", "parquet", "--coordinator", fake.Address.ToString());

        Assert.Equal(ExitCodes.Failed, refused.ExitCode);
        Assert.Equal($"error: {path} already exists; --force overwrites", refused.Stderr.TrimEnd());
        Assert.Equal("keep me", await File.ReadAllTextAsync(path));

        CliResult forced = await CliRun.RunAsync("export", "cap-x", dir.Path, "--format", "parquet", "--force", "--coordinator", fake.Address.ToString());

        Assert.Equal(ExitCodes.Ok, forced.ExitCode);
        Assert.Equal([path], Directory.GetFiles(dir.Path));
        await using ParquetReader reader = await ParquetReader.CreateAsync(path);
        Assert.Equal(3, reader.RowGroupCount);
    }

    [Fact]
    public async Task Export_UnknownFormat_IsAUsageErrorNamingTheChoices()
    {
        using var dir = new TempDirectory();

        CliResult r = await CliRun.RunAsync("export", "cap-x", dir.Path, "--format", "xlsx");

        Assert.Equal(ExitCodes.Usage, r.ExitCode);
        Assert.Contains("xlsx", r.Stderr);
        Assert.Contains("parquet", r.Stderr);
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    private static async Task<string?[]> Strings(ParquetRowGroupReader group, DataField field)
    {
        string?[] values = new string?[group.RowCount];
        await group.ReadAsync(field, values.AsMemory());
        return values;
    }

    private static async Task<T[]> Values<T>(ParquetRowGroupReader group, DataField field) where T : struct
    {
        var values = new T[group.RowCount];
        await group.ReadAsync<T>(field, values.AsMemory());
        return values;
    }

    private static async Task<T?[]> Nullables<T>(ParquetRowGroupReader group, DataField field) where T : struct
    {
        var values = new T?[group.RowCount];
        await group.ReadAsync<T>(field, values.AsMemory());
        return values;
    }
}
