using System.Globalization;
using System.Text.Json;
using Xunit.Abstractions;

namespace Millisampler.Lab.Tests.Demo;

/// <summary>
/// A contention sweep on the real system: four real agents with the eBPF program, two per rack (rack-a, rack-b, one
/// lab ToR standing for both), a real coordinator, and the CLI as an engineer would use it: create the sweep, read
/// its trend rows.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class SweepLabTests(ITestOutputHelper output)
{
    [Fact]
    public async Task SweepOverTwoRacksAtTwoWidths_TrendRowsThroughTheCli_EveryCaptureCoversItsRacksHosts()
    {
        // Fleet-synchronized over 1 h, the two widths are due at :00 and :30 of each hour and all at once when the
        // sweep is created; stay clear of the next due instants so exactly one period runs.
        DateTimeOffset now = DateTimeOffset.UtcNow;
        int intoHalfHour = (now.Minute % 30 * 60) + now.Second;
        if (intoHalfHour >= 28 * 60)
        {
            await Task.Delay(TimeSpan.FromSeconds((30 * 60) - intoHalfHour + 1));
        }

        var binaries = ServiceBinaries.Locate();
        string work = Path.Combine(Path.GetTempPath(), $"ms-sweep-{Environment.ProcessId}-{Guid.NewGuid():N}");
        await using var rack = await RackTopology.Create().WithHosts(4).BuildAsync();
        try
        {
            await using var services = RackServices.Create(rack, binaries, work);
            services.StartCoordinator();
            services.StartAgents(1_000_000_000, h => h.Index <= 2 ? "rack-a" : "rack-b");
            await services.WaitForRegistrationAsync(4, TimeSpan.FromSeconds(90), CancellationToken.None);

            var (code, stdout, stderr) = await services.CliAsync(
                ["sweeps", "create", "lab", "--width", "1ms:200", "--width", "10ms:100", "--period", "1h", "--synchronized", "--max-concurrent", "4"],
                CancellationToken.None);
            Assert.True(code == 0, $"sweeps create failed ({code}): {stderr}{stdout}");

            using JsonDocument report = await WaitForTrendRowsAsync(services, 4);
            output.WriteLine(report.RootElement.ToString());
            var rows = report.RootElement.GetProperty("trends").EnumerateArray()
                .Select(t => (Rack: t.GetProperty("rack").GetString(), Width: Long(t, "binWidthNs"), Captures: Long(t, "captures")))
                .OrderBy(t => t.Rack, StringComparer.Ordinal).ThenBy(t => t.Width).ToList();
            Assert.Equal([("rack-a", 1_000_000L, 1L), ("rack-a", 10_000_000L, 1L), ("rack-b", 1_000_000L, 1L), ("rack-b", 10_000_000L, 1L)], rows);

            // The captures behind the rows: origin SWEEP, and each covers exactly the two agents of its rack.
            (code, stdout, stderr) = await services.CliAsync(["captures", "list", "--output", "json"], CancellationToken.None);
            Assert.True(code == 0, $"captures list failed ({code}): {stderr}");
            using JsonDocument list = JsonDocument.Parse(stdout);
            var captures = list.RootElement.GetProperty("captures").EnumerateArray().ToList();
            Assert.Equal(4, captures.Count);
            Assert.All(captures, c =>
            {
                Assert.Equal("CAPTURE_ORIGIN_SWEEP", c.GetProperty("origin").GetString());
                Assert.Equal("lab", c.GetProperty("originName").GetString());
                Assert.Equal("CAPTURE_STATE_ANALYSED", c.GetProperty("state").GetString());
                Assert.Equal((2L, 2L), (Long(c, "hostsCovered"), Long(c, "hostsRequested")));
            });
            Assert.Equal(["rack-a", "rack-a", "rack-b", "rack-b"], captures.Select(c => c.GetProperty("rack").GetString()).Order(StringComparer.Ordinal));
        }
        finally
        {
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static long Long(JsonElement e, string name) =>
        !e.TryGetProperty(name, out var v) ? 0 : v.ValueKind == JsonValueKind.String ? long.Parse(v.GetString()!, CultureInfo.InvariantCulture) : v.GetInt64();

    private static async Task<JsonDocument> WaitForTrendRowsAsync(RackServices services, int rows)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        string last = string.Empty;
        while (DateTime.UtcNow < deadline)
        {
            var (code, json, err) = await services.CliAsync(["sweeps", "report", "--sweep", "lab", "--bucket", "hour", "--output", "json"], CancellationToken.None);
            if (code == 0)
            {
                var doc = JsonDocument.Parse(json);
                if (doc.RootElement.TryGetProperty("trends", out var trends) && trends.GetArrayLength() >= rows)
                {
                    return doc;
                }

                doc.Dispose();
            }

            last = code == 0 ? json : err;
            await Task.Delay(1000);
        }

        throw new TimeoutException($"{rows} trend rows did not appear within 120 s; last: {last}");
    }
}
