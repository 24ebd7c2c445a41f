using DuckDB.NET.Data;
using Millisampler.Cli.Tests.Infrastructure;
using Millisampler.Contracts.V1;

namespace Millisampler.Cli.Tests.Export;

/// <summary>
/// The tidy export read as it is by a reader analysts use, DuckDB (its native Parquet and CSV readers, through
/// DuckDB.NET), independent of the Parquet.Net writer: types, UTC timestamps, nulls and the numbers of TestRack.
/// </summary>
public class DuckDbReadsExportTests
{
    private static FakeCoordinatorService WithSeries(string captureId)
    {
        var service = new FakeCoordinatorService();
        service.Series[captureId] = [TestRack.Run("b"), TestRack.Run("a"), TestRack.Run("c")];
        service.Captures[captureId] = TestRack.CaptureOf(captureId, "a", "b", "c");
        return service;
    }

    private static List<object?[]> Query(string sql)
    {
        using var connection = new DuckDBConnection("DataSource=:memory:");
        connection.Open();
        using DuckDBCommand command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<object?[]>();
        while (reader.Read())
        {
            var row = new object?[reader.FieldCount];
            for (int i = 0; i < reader.FieldCount; i++)
            {
                row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            }

            rows.Add(row);
        }

        return rows;
    }

    [Theory]
    [InlineData("parquet", "read_parquet")]
    [InlineData("csv", "read_csv_auto")]
    public async Task DuckDb_ReadsTheExportAsIs_PerHostTotalsTimesAndNulls(string format, string readFunction)
    {
        await using FakeCoordinator fake = await FakeCoordinator.StartAsync(WithSeries("cap-d"));
        using var dir = new TempDirectory();
        CliResult r = await CliRun.RunAsync("export", "cap-d", dir.Path, "--format", format, "--coordinator", fake.Address.ToString());
        Assert.Equal(ExitCodes.Ok, r.ExitCode);
        string path = Path.Combine(dir.Path, $"cap-d.{format}").Replace("'", "''", StringComparison.Ordinal);

        List<object?[]> perHost = Query(
            $"SELECT host, count(*), sum(ingress_bytes)::BIGINT, min(bin), max(bin), count(ingress_packets), min(time_utc)::VARCHAR, typeof(min(time_utc)) "
            + $"FROM {readFunction}('{path}') GROUP BY host ORDER BY host");

        Assert.Equal(["a", "b", "c"], perHost.Select(x => (string)x[0]!));
        foreach (object?[] row in perHost)
        {
            string host = (string)row[0]!;
            Assert.Equal((long)TestRack.Bins, Convert.ToInt64(row[1], System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal((long)TestRack.Ingress(host).Aggregate(0UL, (s, v) => s + v), Convert.ToInt64(row[2], System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(0L, Convert.ToInt64(row[3], System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(TestRack.Bins - 1L, Convert.ToInt64(row[4], System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal(0L, Convert.ToInt64(row[5], System.Globalization.CultureInfo.InvariantCulture));
            Assert.StartsWith("2025-11-22 15:00:00", (string)row[6]!);
            Assert.StartsWith("TIMESTAMP", (string)row[7]!);
        }

        List<object?[]> one = Query($"SELECT time_tai_ns::BIGINT, ingress_bytes::BIGINT FROM {readFunction}('{path}') WHERE host = 'a' AND bin = 10");
        Assert.Equal(1_763_823_637_010_000_000L, Convert.ToInt64(Assert.Single(one)[0], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal((long)TestRack.Ingress("a")[10], Convert.ToInt64(one[0][1], System.Globalization.CultureInfo.InvariantCulture));
    }
}
