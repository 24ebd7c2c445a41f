using Millisampler.Cli.Tests.Infrastructure;
using Millisampler.Contracts.V1;

namespace Millisampler.Cli.Tests.Output;

/// <summary><c>-o csv</c> beside table and json: RFC 4180 rows a CSV reader splits back into the same fields.</summary>
public class CsvOutputTests
{
    /// <summary>A small RFC 4180 reader (quoted fields, doubled quotes, CRLF), independent of the writer.</summary>
    internal static List<string[]> Parse(string text)
    {
        var rows = new List<string[]>();
        var row = new List<string>();
        var field = new System.Text.StringBuilder();
        bool quoted = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    field.Append(c);
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                row.Add(field.ToString());
                field.Clear();
            }
            else if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
            {
                row.Add(field.ToString());
                field.Clear();
                rows.Add([.. row]);
                row.Clear();
                i++;
            }
            else
            {
                field.Append(c);
            }
        }

        Assert.Empty(row);
        Assert.Equal(0, field.Length);
        return rows;
    }

    [Fact]
    public async Task CapturesShow_Csv_OneRowPerHostWithTheReasonIntact()
    {
        var service = new FakeCoordinatorService();
        Capture c = TestCaptures.Analysed("c9");
        c.Hosts.Add(new HostOutcome { Host = "h5", Outcome = HostOutcomeKind.HostOutcomeRefused, Reason = "refused: \"busy\", retry later\nsecond line" });
        HostOutcome h3 = c.Hosts.Single(h => h.Host == "h3");
        (h3.OffsetMeasured, h3.MeasuredOffsetNs, h3.MeasuredOffsetBoundNs, h3.OffsetExceedsHalfBin) = (true, -100_012_345, 1_200_000, true);
        service.Captures["c9"] = c;
        await using FakeCoordinator fake = await FakeCoordinator.StartAsync(service);

        CliResult r = await CliRun.RunAsync("captures", "show", "c9", "-o", "csv", "--coordinator", fake.Address.ToString());

        Assert.Equal(ExitCodes.Ok, r.ExitCode);
        List<string[]> rows = Parse(r.Stdout);
        Assert.Equal(["capture_id", "rack", "host", "outcome", "bins_covered", "bins", "link_speed_bits_per_second", "clock_error_ns", "alignment_trusted",
            "measured_offset_ns", "measured_offset_bound_ns", "offset_exceeds_half_bin", "reason"], rows[0]);
        Assert.Equal(6, rows.Count);
        Assert.Equal(["c9", "r1", "h2", "partial", "1500", "2000", "25000000000", "12000", "true", "", "", "", "agent stopped"], rows[2]);
        Assert.Equal(["c9", "r1", "h3", "collected", "2000", "2000", "25000000000", "800000", "false", "-100012345", "1200000", "true", ""], rows[3]);
        Assert.Equal(["c9", "r1", "h5", "refused", "0", "2000", "", "0", "", "", "", "", "refused: \"busy\", retry later\nsecond line"], rows[5]);
    }

    [Fact]
    public async Task CapturesList_Csv_OneRowPerCaptureWithUtcTimesAndUnitsInTheNames()
    {
        var service = new FakeCoordinatorService();
        service.CaptureList.Captures.Add(new Capture
        {
            CaptureId = "c2",
            Rack = "r1",
            State = CaptureState.Failed,
            Bins = 500,
            BinWidthNs = 100_000,
            Origin = CaptureOrigin.Sweep,
            OriginName = "hourly",
            RequestedAtUnixNs = 1_763_823_000_000_000_000,
            HostsRequested = 2,
            Detail = "no host returned data, none",
        });
        await using FakeCoordinator fake = await FakeCoordinator.StartAsync(service);

        CliResult r = await CliRun.RunAsync("captures", "list", "--output", "csv", "--coordinator", fake.Address.ToString());

        Assert.Equal(ExitCodes.Ok, r.ExitCode);
        List<string[]> rows = Parse(r.Stdout);
        Assert.Equal(2, rows.Count);
        Assert.Equal(["capture_id", "rack", "state", "origin", "origin_name", "requested_by", "requested_utc", "completed_utc", "start_tai_ns", "bins", "bin_width_ns", "hosts_covered", "hosts_requested", "detail"], rows[0]);
        Assert.Equal(["c2", "r1", "failed", "sweep", "hourly", "", "2025-11-22T14:50:00.0000000Z", "", "0", "500", "100000", "0", "2", "no host returned data, none"], rows[1]);
    }

    [Fact]
    public async Task Racks_Csv_OneRowPerHost()
    {
        var service = new FakeCoordinatorService();
        var rack = new Rack { Rack_ = "r1" };
        var host = new HostMember { Host = "h1", Address = "198.18.0.1:7401", Health = "healthy", LastSeenUnixNs = 1_763_823_000_000_000_000, Clock = new ClockState { Synchronized = true, MaxErrorNs = 16_000 } };
        host.Interfaces.Add(new InterfaceInfo { Name = "eth0", LinkSpeedBitsPerSecond = 25_000_000_000 });
        rack.Hosts.Add(host);
        service.Racks.Racks.Add(rack);
        await using FakeCoordinator fake = await FakeCoordinator.StartAsync(service);

        CliResult r = await CliRun.RunAsync("racks", "-o", "csv", "--coordinator", fake.Address.ToString());

        Assert.Equal(ExitCodes.Ok, r.ExitCode);
        Assert.Equal(
            "rack,host,address,interfaces,clock_synchronized,clock_max_error_ns,health,last_seen_utc\r\n"
            + "r1,h1,198.18.0.1:7401,eth0=25000000000,true,16000,healthy,2025-11-22T14:50:00.0000000Z\r\n",
            r.Stdout);
    }

    [Fact]
    public async Task Analyze_Csv_IsRefusedNamingTheChoices()
    {
        CliResult r = await CliRun.RunAsync("analyze", "/nonexistent", "-o", "csv");

        Assert.Equal(ExitCodes.Usage, r.ExitCode);
        Assert.Equal("error: --output: 'csv' must be table or json", r.Stderr.TrimEnd());
    }
}
