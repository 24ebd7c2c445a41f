using System.Diagnostics;
using System.Text.Json;
using Millisampler.Cli.Tests.Infrastructure;

namespace Millisampler.Cli.Tests.Export;

/// <summary>
/// The CSV export read as it is by pandas (Debian's python3-pandas under /usr/bin/python3, installed by
/// scripts/setup.sh), the reader most analysts open first: every value of every series of every host equals the
/// capture's series, and the UTC column parses as UTC timestamps. pandas cannot read the Parquet export on this
/// Debian: read_parquet needs pyarrow or fastparquet, which bookworm does not package (DuckDB reads it, see
/// <see cref="DuckDbReadsExportTests"/>).
/// </summary>
public class PandasReadsExportTests
{
    private const string Python = "/usr/bin/python3";

    // Prints, per host in file order, each series as a list, the bins, the UTC column's dtype and first value, and the
    // count of empty cells per series column (ingress_packets is not recorded by TestRack: every cell empty).
    private const string Reader = """
        import json, sys
        import pandas as pd
        df = pd.read_csv(sys.argv[1], parse_dates=["time_utc"])
        series = ["ingress_bytes", "egress_bytes", "ingress_ce_bytes", "ingress_retransmit_bytes", "connections", "ingress_connections"]
        out = {"dtype_time_utc": str(df["time_utc"].dtype), "rows": len(df), "hosts": {}}
        for host, g in df.groupby("host", sort=True):
            h = {name: [int(v) for v in g[name]] for name in series}
            h["bin"] = [int(v) for v in g["bin"]]
            h["first_utc"] = g["time_utc"].iloc[0].isoformat()
            h["empty_ingress_packets"] = int(g["ingress_packets"].isna().sum())
            out["hosts"][host] = h
        print(json.dumps(out))
        """;

    [Fact]
    public async Task Pandas_ReadsTheCsvExportAsIs_EveryValueEqualsTheCapturesSeries()
    {
        Assert.True(File.Exists(Python), $"{Python} is missing: scripts/setup.sh installs python3-pandas");
        var service = new FakeCoordinatorService();
        service.Series["cap-p"] = [TestRack.Run("b"), TestRack.Run("a"), TestRack.Run("c")];
        service.Captures["cap-p"] = TestRack.CaptureOf("cap-p", "a", "b", "c");
        await using FakeCoordinator fake = await FakeCoordinator.StartAsync(service);
        using var dir = new TempDirectory();
        CliResult r = await CliRun.RunAsync("export", "cap-p", dir.Path, "--format", "csv", "--coordinator", fake.Address.ToString());
        Assert.Equal(ExitCodes.Ok, r.ExitCode);

        var start = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(Reader);
        start.ArgumentList.Add(Path.Combine(dir.Path, "cap-p.csv"));
        using Process p = Process.Start(start)!;
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, $"python3 exited {p.ExitCode}: {await stderr}");

        using JsonDocument doc = JsonDocument.Parse(await stdout);
        JsonElement root = doc.RootElement;
        Assert.Equal("datetime64[ns, UTC]", root.GetProperty("dtype_time_utc").GetString());
        Assert.Equal(3 * TestRack.Bins, root.GetProperty("rows").GetInt32());
        JsonElement hosts = root.GetProperty("hosts");
        Assert.Equal(["a", "b", "c"], hosts.EnumerateObject().Select(h => h.Name));
        foreach (string host in new[] { "a", "b", "c" })
        {
            JsonElement h = hosts.GetProperty(host);
            Assert.Equal(Enumerable.Range(0, TestRack.Bins), Longs(h, "bin").Select(v => (int)v));
            Assert.Equal(TestRack.Ingress(host), Longs(h, "ingress_bytes").Select(v => (ulong)v));
            Assert.Equal(new ulong[TestRack.Bins], Longs(h, "egress_bytes").Select(v => (ulong)v));
            Assert.Equal(TestRack.Ce(host), Longs(h, "ingress_ce_bytes").Select(v => (ulong)v));
            Assert.Equal(TestRack.Retransmits(host), Longs(h, "ingress_retransmit_bytes").Select(v => (ulong)v));
            Assert.Equal(Enumerable.Repeat(4L, TestRack.Bins), Longs(h, "connections"));
            Assert.Equal(Enumerable.Repeat(3L, TestRack.Bins), Longs(h, "ingress_connections"));
            Assert.Equal(TestRack.Bins, h.GetProperty("empty_ingress_packets").GetInt32());
            // Bin 0 at TAI 1,763,823,637 s = UTC 2025-11-22 15:00:00 (TAI − UTC = 37 s).
            Assert.Equal("2025-11-22T15:00:00+00:00", h.GetProperty("first_utc").GetString());
        }
    }

    private static long[] Longs(JsonElement host, string name) => [.. host.GetProperty(name).EnumerateArray().Select(v => v.GetInt64())];
}
