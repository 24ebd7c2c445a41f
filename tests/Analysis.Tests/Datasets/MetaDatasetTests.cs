using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Millisampler.Analysis.Datasets;
using Millisampler.Contracts.V1;

namespace Millisampler.Analysis.Tests.Datasets;

public sealed class MetaDatasetTests : IDisposable
{
    // Shaped like a host file of Meta's data set (day1-h1-zip/rackId_<rack>_hostId_<host>.txt.gz): their field
    // names, a numeric anonymised host, sampling_freq, and a burst_result summary that readers must skip.
    private const string MetaShaped = """
        {"server_hostname": 91647, "rack_id": "1001", "sampling_freq": 1,
         "ingressBytes": [0, 1500, 90000, 125000, 3000.0],
         "egressBytes": [60, 60, 66, 0, 0],
         "inRxmitBytes": [0, 0, 1448, 0, 0],
         "outRxmitBytes": [0, 0, 0, 0, 0],
         "inCongestionExperiencedBytes": [0, 0, 2896, 5792, 0],
         "connections": [1, 2, 17, 20, 3],
         "burst_result": {"ingress": {"1690000000000000": [{"Position": 2, "Length": 2}]}}}
        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("ms-dataset-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Read_MetaShapedGzipFile_ReadsMetaFieldsAndSkipsUnknownOnes()
    {
        string path = WriteGzip("rackId_1001_hostId_91647.txt.gz", MetaShaped);

        MetaHostFile f = MetaDataset.Read(path);

        Assert.Equal(("91647", "1001", (double?)1), (f.ServerHostname, f.RackId, f.SamplingFreq));
        Assert.Equal([0UL, 1500, 90000, 125000, 3000], f.IngressBytes);
        Assert.Equal([60UL, 60, 66, 0, 0], f.EgressBytes);
        Assert.Equal([0UL, 0, 1448, 0, 0], f.InRxmitBytes);
        Assert.Equal(new ulong[5], f.OutRxmitBytes);
        Assert.Equal([0UL, 0, 2896, 5792, 0], f.InCongestionExperiencedBytes);
        Assert.Equal([1UL, 2, 17, 20, 3], f.Connections);
        Assert.Null(f.BinWidthNs);
        Assert.Null(f.InConnections);
    }

    [Fact]
    public void Read_MetaShapedFile_ConvertsToOneMillisecondSeriesForAnalysis()
    {
        MetaHostFile f = MetaDataset.Read(WriteGzip("rackId_1001_hostId_91647.txt.gz", MetaShaped));

        HostSeries s = MetaDataset.ToHostSeries(f, 1e9, binWidthNsOverride: null);

        Assert.Equal(1_000_000, MetaDataset.ResolveBinWidthNs(f, null));
        Assert.Equal(("91647", 1e9, 5, -1L), (s.Host, s.LinkSpeedBitsPerSecond, s.BinsCovered, s.ClockErrorNs));
        Assert.Equal([1U, 2, 17, 20, 3], s.IngressConnections);
        Assert.Equal(f.InCongestionExperiencedBytes, s.IngressCeBytes);
        Assert.Equal(f.InRxmitBytes, s.IngressRetransmitBytes);

        // 1 Gbit/s for 1 ms is 125,000 bytes: bins 3 (1.0) and 2 (0.72) burst at θ = 0.5.
        BurstInfo burst = Assert.Single(RackAnalyzer.Analyze([s], 1_000_000, new AnalysisOptions()).Bursts);
        Assert.Equal((2, 2, 5792UL + 2896), (burst.StartBin, burst.LengthBins, burst.CeBytes));
    }

    [Fact]
    public void Read_NoHostnameOrRackInside_TakesThemFromMetaFileName()
    {
        string json = MetaShaped.Replace("\"server_hostname\": 91647, \"rack_id\": \"1001\",", "");
        MetaHostFile f = MetaDataset.Read(WritePlain("rackId_77_hostId_555.txt", json));

        Assert.Equal(("555", "77"), (f.ServerHostname, f.RackId));
    }

    [Fact]
    public void RoundTrip_Gzip_PreservesEveryField()
    {
        MetaHostFile original = Sample("h1", "r1");
        string path = Path.Combine(_dir, "rackId_r1_hostId_h1.txt.gz");

        MetaDataset.Write(path, original);
        MetaHostFile read = MetaDataset.Read(path);

        AssertSameFile(original, read);
        byte[] raw = File.ReadAllBytes(path);
        Assert.Equal((0x1f, 0x8b), (raw[0], raw[1]));
    }

    [Fact]
    public void RoundTrip_PlainJsonName_WritesPlainJsonAndPreservesEveryField()
    {
        MetaHostFile original = Sample("h1", "r1");
        string path = Path.Combine(_dir, "h1.json");

        MetaDataset.Write(path, original);

        Assert.Equal((byte)'{', File.ReadAllBytes(path)[0]);
        AssertSameFile(original, MetaDataset.Read(path));
    }

    [Fact]
    public void Write_MetaFieldsUnderMetaNames_SoTheirReadersWork()
    {
        string path = Path.Combine(_dir, "x.json");
        MetaDataset.Write(path, Sample("h1", "r1"));

        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(path));
        JsonElement root = doc.RootElement;
        foreach (string field in new[] { "ingressBytes", "egressBytes", "inRxmitBytes", "outRxmitBytes", "inCongestionExperiencedBytes", "connections" })
        {
            Assert.Equal(JsonValueKind.Array, root.GetProperty(field).ValueKind);
        }

        Assert.Equal("h1", root.GetProperty("server_hostname").GetString());
        Assert.Equal("r1", root.GetProperty("rack_id").GetString());
        Assert.Equal(1.0, root.GetProperty("sampling_freq").GetDouble());
        Assert.Equal(1_000_000, root.GetProperty("bin_width_ns").GetInt64());
    }

    [Fact]
    public void Write_ExistingFile_ReplacesItAndLeavesNoTemporaryFile()
    {
        string path = Path.Combine(_dir, "rackId_r1_hostId_h1.txt.gz");
        MetaDataset.Write(path, Sample("old", "r1"));

        MetaDataset.Write(path, Sample("h1", "r1"));

        Assert.Equal("h1", MetaDataset.Read(path).ServerHostname);
        Assert.Equal([path], Directory.GetFiles(_dir));
    }

    [Fact]
    public void Write_TargetCannotBeReplaced_ThrowsAndLeavesNoTemporaryFile()
    {
        string path = Path.Combine(_dir, "occupied.txt.gz");
        Directory.CreateDirectory(path);

        Assert.ThrowsAny<IOException>(() => MetaDataset.Write(path, Sample("h1", "r1")));
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public void Write_FileWithoutAMetaSeries_ThrowsBeforeTouchingTheDisk()
    {
        MetaHostFile f = Sample("h1", "r1") with { Connections = null! };

        Assert.Throws<ArgumentException>(() => MetaDataset.Write(Path.Combine(_dir, "x.txt.gz"), f));
        Assert.Empty(Directory.GetFiles(_dir));
    }

    [Fact]
    public void ReadDirectory_RackFolder_ReadsEveryHostFileSortedAndSkipsOthers()
    {
        foreach (string host in new[] { "h3", "h1", "h2" })
        {
            MetaHostFile f = Sample(host, "r1");
            MetaDataset.Write(Path.Combine(_dir, MetaDataset.DefaultFileName(f)), f);
        }

        MetaDataset.Write(Path.Combine(_dir, "plain.json"), Sample("h4", "r1"));
        File.WriteAllText(Path.Combine(_dir, "README.md"), "not a host file");
        File.WriteAllText(Path.Combine(_dir, ".rackId_r1_hostId_h9.txt.gz.0123.tmp"), "half written");
        WritePlain("rackId_r1_hostId_summary.txt", """{"burst_result": {"ingress": {}}}""");

        IReadOnlyList<MetaHostFile> files = MetaDataset.ReadDirectory(_dir);

        Assert.Equal(["h4", "h1", "h2", "h3"], files.Select(f => f.ServerHostname));
    }

    [Fact]
    public void ReadDirectory_FolderOfManyRacks_ReadsOnlyTheAskedRack()
    {
        foreach (var (host, rack) in new[] { ("a", "1001"), ("b", "1002"), ("c", "1001") })
        {
            MetaHostFile f = Sample(host, rack);
            MetaDataset.Write(Path.Combine(_dir, MetaDataset.DefaultFileName(f)), f);
        }

        Assert.Equal(["a", "c"], MetaDataset.ReadDirectory(_dir, "1001").Select(f => f.ServerHostname));
        Assert.Equal(3, MetaDataset.ReadDirectory(_dir).Count);
    }

    [Fact]
    public void ReadDirectory_NoHostFile_ThrowsDatasetFormatExceptionNamingTheDirectory()
    {
        var e = Assert.Throws<DatasetFormatException>(() => MetaDataset.ReadDirectory(_dir));
        Assert.Equal(_dir, e.FilePath);
    }

    [Fact]
    public void ReadDirectory_OneMalformedFile_ThrowsDatasetFormatExceptionNamingIt()
    {
        MetaHostFile good = Sample("h1", "r1");
        MetaDataset.Write(Path.Combine(_dir, MetaDataset.DefaultFileName(good)), good);
        string bad = WritePlain("rackId_r1_hostId_h2.txt", "{\"ingressBytes\": [1, 2,");

        var e = Assert.Throws<DatasetFormatException>(() => MetaDataset.ReadDirectory(_dir));
        Assert.Equal(bad, e.FilePath);
    }

    public static TheoryData<string, string> Malformed() => new()
    {
        { "", "is empty" },
        { "   ", "is empty" },
        { "[1, 2]", "one JSON object" },
        { "{\"ingressBytes\": [1, 2,", "not valid JSON" },
        { "{\"ingressBytes\": [1, 2]} trailing", "not valid JSON" },
        { "{\"server_hostname\": \"h\", \"rack_id\": \"r\", \"ingressBytes\": [1, \"two\"]}", "'ingressBytes'[1]" },
        { "{\"server_hostname\": \"h\", \"rack_id\": \"r\", \"ingressBytes\": [1, -2]}", "'ingressBytes'[1]" },
        { "{\"server_hostname\": \"h\", \"rack_id\": \"r\", \"ingressBytes\": [1.5]}", "'ingressBytes'[0]" },
        { "{\"server_hostname\": \"h\", \"rack_id\": \"r\", \"ingressBytes\": [null]}", "'ingressBytes'[0]" },
        { "{\"server_hostname\": \"h\", \"rack_id\": \"r\", \"ingressBytes\": 7}", "must be an array" },
        { "{\"server_hostname\": \"h\", \"rack_id\": \"r\", \"ingressBytes\": [1]}", "'egressBytes'" },
        { "{\"rack_id\": \"r\", \"ingressBytes\": [1]}", "server_hostname" },
        { "{\"server_hostname\": [], \"ingressBytes\": [1]}", "'server_hostname'" },
        { "{\"server_hostname\": null, \"rack_id\": \"r\", \"ingressBytes\": [1]}", "no server_hostname" },
        { "{\"server_hostname\": \"h\", \"rack_id\": \"r\", \"bins\": -4, \"ingressBytes\": [1]}", "'bins'" },
        { "{\"sampling_freq\": 1}", "no 'ingressBytes'" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Read_MalformedPlainFile_ThrowsDatasetFormatExceptionWithFileName(string content, string expected)
    {
        string path = WritePlain("host.json", content);

        AssertFormatError(path, expected);
    }

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Read_MalformedGzipFile_ThrowsDatasetFormatExceptionWithFileName(string content, string expected)
    {
        string path = WriteGzip("host.json.gz", content);

        AssertFormatError(path, expected);
    }

    [Fact]
    public void Read_GzipMagicThenGarbage_ThrowsDatasetFormatException()
    {
        string path = Path.Combine(_dir, "broken.txt.gz");
        File.WriteAllBytes(path, [0x1f, 0x8b, 0x08, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x01]);

        AssertFormatError(path, "gzip");
    }

    [Fact]
    public void Read_TruncatedGzip_ThrowsDatasetFormatException()
    {
        string full = WriteGzip("full.txt.gz", MetaShaped);
        byte[] raw = File.ReadAllBytes(full);
        string path = Path.Combine(_dir, "truncated.txt.gz");
        File.WriteAllBytes(path, raw[..(raw.Length / 2)]);

        Assert.Throws<DatasetFormatException>(() => MetaDataset.Read(path));
    }

    [Fact]
    public void Read_Utf8ByteOrderMark_IsAccepted()
    {
        string path = Path.Combine(_dir, "bom.json");
        File.WriteAllText(path, MetaShaped, new UTF8Encoding(encoderShouldEmitUTF8Identifier: true));

        Assert.Equal("91647", MetaDataset.Read(path).ServerHostname);
    }

    [Fact]
    public void FromRun_MapsSeriesAndRunFieldsToMetaNamesAndOurs()
    {
        Run run = SampleRun("host-7", "rack-a", bins: 4, recorded: 3);

        MetaHostFile f = MetaDataset.FromRun(run);

        Assert.Equal(("host-7", "rack-a", (double?)1.0), (f.ServerHostname, f.RackId, f.SamplingFreq));
        Assert.Equal([100UL, 200, 300], f.IngressBytes);
        Assert.Equal([10UL, 20, 30], f.EgressBytes);
        Assert.Equal([1UL, 0, 3], f.InRxmitBytes);
        Assert.Equal([0UL, 2, 0], f.OutRxmitBytes);
        Assert.Equal([5UL, 6, 7], f.InCongestionExperiencedBytes);
        Assert.Equal([4UL, 5, 6], f.Connections);
        Assert.Equal([3UL, 4, 5], f.InConnections);
        Assert.Equal([1UL, 1, 1], f.OutConnections);
        Assert.Equal([1UL, 2, 3], f.IngressPackets);
        Assert.Equal([4UL, 5, 6], f.EgressPackets);
        Assert.Equal([0UL, 50, 0], f.InCrossRegionBytes);
        Assert.Null(f.OutCrossRegionBytes);
        Assert.Equal((1_700_000_000_000_000_000L, 1_000_000L, 4, 3), (f.StartTaiNs!.Value, f.BinWidthNs!.Value, f.Bins!.Value, f.BinsRecorded!.Value));
        Assert.Equal((25e9, 40_000L, "run-1"), (f.LinkSpeedBitsPerSecond!.Value, f.ClockErrorNs!.Value, f.RunId));
    }

    [Fact]
    public void FromRun_UnsynchronizedClock_RecordsUnknownClockError()
    {
        Run run = SampleRun("h", "r", 4, 4);
        run.ClockAtArm.Synchronized = false;

        Assert.Equal(-1, MetaDataset.FromRun(run).ClockErrorNs);
    }

    [Fact]
    public void ToHostSeries_CutShortRun_PadsToRequestedBinsAndMarksTheRestMissing()
    {
        MetaHostFile f = MetaDataset.FromRun(SampleRun("h", "r", bins: 4, recorded: 3));

        HostSeries s = MetaDataset.ToHostSeries(f, linkSpeedBitsPerSecond: 0, binWidthNsOverride: null);

        Assert.Equal((3, 25e9, 40_000L), (s.BinsCovered, s.LinkSpeedBitsPerSecond, s.ClockErrorNs));
        Assert.Equal([100UL, 200, 300, 0], s.IngressBytes);
        Assert.Equal([3U, 4, 5, 0], s.IngressConnections);
    }

    [Fact]
    public void ToHostSeries_NoLinkSpeedAnywhere_ThrowsNamingTheHost()
    {
        MetaHostFile f = MetaDataset.Read(WriteGzip("rackId_1001_hostId_91647.txt.gz", MetaShaped));

        var e = Assert.Throws<ArgumentException>(() => MetaDataset.ToHostSeries(f, 0, null));
        Assert.Contains("91647", e.Message);
    }

    [Theory]
    [InlineData(1000.0)]
    [InlineData(0.0)]
    [InlineData(null)]
    public void ToHostSeries_SamplingFreqNotAnIntervalInMs_NeedsTheOverride(double? samplingFreq)
    {
        MetaHostFile f = MetaDataset.Read(WriteGzip("rackId_1001_hostId_91647.txt.gz", MetaShaped)) with { SamplingFreq = samplingFreq };

        var e = Assert.Throws<DatasetFormatException>(() => MetaDataset.ToHostSeries(f, 1e9, null));
        Assert.Contains("--interval", e.Message);
        Assert.Equal(5, MetaDataset.ToHostSeries(f, 1e9, 1_000_000).BinsCovered);
        Assert.Equal(100_000, MetaDataset.ResolveBinWidthNs(f, 100_000));
    }

    [Fact]
    public void ResolveBinWidthNs_PrefersOverrideThenBinWidthThenSamplingFreq()
    {
        MetaHostFile f = Sample("h", "r") with { SamplingFreq = 10, BinWidthNs = 100_000 };

        Assert.Equal(5_000, MetaDataset.ResolveBinWidthNs(f, 5_000));
        Assert.Equal(100_000, MetaDataset.ResolveBinWidthNs(f, null));
        Assert.Equal(10_000_000, MetaDataset.ResolveBinWidthNs(f with { BinWidthNs = null }, null));
        Assert.Equal(100_000, MetaDataset.ResolveBinWidthNs(f with { BinWidthNs = null, SamplingFreq = 0.1 }, null));
    }

    [Fact]
    public void ToRack_HostsOfDifferentLengths_PadsAllToTheLongest()
    {
        MetaHostFile a = Sample("a", "r");
        MetaHostFile b = Sample("b", "r") with { IngressBytes = [1, 2], Bins = null, BinsRecorded = null };

        MetaRack rack = MetaDataset.ToRack([a, b], 1e9, null);

        Assert.Equal(1_000_000, rack.BinWidthNs);
        Assert.All(rack.Hosts, h => Assert.Equal(4, h.IngressBytes.Length));
        Assert.Equal(2, rack.Hosts[1].BinsCovered);
    }

    [Fact]
    public void ToRack_HostsStatingDifferentWidths_ThrowsUnlessOverridden()
    {
        MetaHostFile a = Sample("a", "r");
        MetaHostFile b = Sample("b", "r") with { BinWidthNs = 10_000_000 };

        Assert.Throws<DatasetFormatException>(() => MetaDataset.ToRack([a, b], 1e9, null));
        Assert.Equal(1_000_000, MetaDataset.ToRack([a, b], 1e9, 1_000_000).BinWidthNs);
    }

    [Fact]
    public void RunsWrittenAndReadBack_AnalyseLikeTheRunsThemselves()
    {
        var runs = new[] { SampleRun("h1", "r", 4, 4), SampleRun("h2", "r", 4, 4) };
        runs[1].Series.IngressBytes[1] = 3_000_000; // 24 Gbit/s of 25 in 1 ms
        runs[0].Series.IngressBytes[1] = 2_000_000;
        foreach (Run run in runs)
        {
            MetaHostFile f = MetaDataset.FromRun(run);
            MetaDataset.Write(Path.Combine(_dir, MetaDataset.DefaultFileName(f)), f);
        }

        MetaRack rack = MetaDataset.ToRack(MetaDataset.ReadDirectory(_dir), 0, null);
        RackAnalysis r = RackAnalyzer.Analyze(rack.Hosts, rack.BinWidthNs, new AnalysisOptions());

        SyncEventInfo e = Assert.Single(r.Events);
        Assert.Equal((1, 1), (e.StartBin, e.LengthBins));
        Assert.Equal(["h1", "h2"], e.Hosts);
        Assert.Equal(50e9, e.RackLinkCapacityBitsPerSecond);
    }

    internal static MetaHostFile RandomFile(Random rng, string host, string rack, int samples)
    {
        ulong[] Series(int max) => Enumerable.Range(0, samples).Select(_ => (ulong)rng.Next(0, max)).ToArray();
        return new MetaHostFile(host, rack, 1, Series(1_500_000), Series(1_000_000), Series(10_000), Series(10_000),
            Series(100_000), Series(500), IngressPackets: Series(1_000), EgressPackets: Series(1_000),
            InConnections: Series(300), OutConnections: Series(300), InCrossRegionBytes: Series(100_000),
            OutCrossRegionBytes: Series(100_000), StartTaiNs: 1_700_000_000_000_000_000, BinWidthNs: 1_000_000,
            Bins: samples, BinsRecorded: samples, LinkSpeedBitsPerSecond: 12.5e9, ClockErrorNs: 30_000, RunId: "run-" + host);
    }

    private static MetaHostFile Sample(string host, string rack) => new(
        host, rack, 1.0,
        [0, 1500, ulong.MaxValue, 7], [1, 2, 3, 4], [0, 0, 1448, 0], [0, 1, 0, 0], [0, 0, 2896, 0], [1, 2, 3, 4],
        IngressPackets: [0, 1, 2, 3], EgressPackets: [3, 2, 1, 0], InConnections: [1, 1, 2, 2], OutConnections: [0, 0, 1, 1],
        InCrossRegionBytes: [0, 0, 0, 9], OutCrossRegionBytes: [9, 0, 0, 0], StartTaiNs: 1_700_000_000_000_000_000,
        BinWidthNs: 1_000_000, Bins: 4, BinsRecorded: 4, LinkSpeedBitsPerSecond: 12.5e9, ClockErrorNs: 25_000, RunId: "run-" + host);

    private static Run SampleRun(string host, string rack, uint bins, uint recorded)
    {
        var run = new Run
        {
            RunId = "run-1",
            Host = host,
            Rack = rack,
            StartTaiNs = 1_700_000_000_000_000_000,
            BinWidthNs = 1_000_000,
            Bins = bins,
            BinsRecorded = recorded,
            Status = recorded == bins ? RunStatus.Complete : RunStatus.CutShort,
            ClockAtArm = new ClockState { Synchronized = true, MaxErrorNs = 40_000, EstimatedErrorNs = 5_000 },
            Series = new RunSeries(),
        };
        run.Interfaces.Add(new InterfaceInfo { Name = "eth0", LinkSpeedBitsPerSecond = 25_000_000_000 });
        run.Interfaces.Add(new InterfaceInfo { Name = "veth-x", LinkSpeedBitsPerSecond = 0 });
        RunSeries s = run.Series;
        int n = (int)recorded;
        s.IngressBytes.AddRange(new ulong[] { 100, 200, 300, 400 }.Take(n));
        s.EgressBytes.AddRange(new ulong[] { 10, 20, 30, 40 }.Take(n));
        s.IngressPackets.AddRange(new ulong[] { 1, 2, 3, 4 }.Take(n));
        s.EgressPackets.AddRange(new ulong[] { 4, 5, 6, 7 }.Take(n));
        s.IngressCeBytes.AddRange(new ulong[] { 5, 6, 7, 8 }.Take(n));
        s.IngressRetransmitBytes.AddRange(new ulong[] { 1, 0, 3, 0 }.Take(n));
        s.EgressRetransmitBytes.AddRange(new ulong[] { 0, 2, 0, 0 }.Take(n));
        s.IngressCrossRegionBytes.AddRange(new ulong[] { 0, 50, 0, 0 }.Take(n));
        s.Connections.AddRange(new uint[] { 4, 5, 6, 7 }.Take(n));
        s.IngressConnections.AddRange(new uint[] { 3, 4, 5, 6 }.Take(n));
        s.EgressConnections.AddRange(new uint[] { 1, 1, 1, 1 }.Take(n));
        return run;
    }

    private static void AssertSameFile(MetaHostFile expected, MetaHostFile actual)
    {
        // Records compare arrays by reference; compare them by content, the rest field by field.
        Assert.Equal(expected.IngressBytes, actual.IngressBytes);
        Assert.Equal(expected.EgressBytes, actual.EgressBytes);
        Assert.Equal(expected.InRxmitBytes, actual.InRxmitBytes);
        Assert.Equal(expected.OutRxmitBytes, actual.OutRxmitBytes);
        Assert.Equal(expected.InCongestionExperiencedBytes, actual.InCongestionExperiencedBytes);
        Assert.Equal(expected.Connections, actual.Connections);
        Assert.Equal(expected.IngressPackets, actual.IngressPackets);
        Assert.Equal(expected.EgressPackets, actual.EgressPackets);
        Assert.Equal(expected.InConnections, actual.InConnections);
        Assert.Equal(expected.OutConnections, actual.OutConnections);
        Assert.Equal(expected.InCrossRegionBytes, actual.InCrossRegionBytes);
        Assert.Equal(expected.OutCrossRegionBytes, actual.OutCrossRegionBytes);
        MetaHostFile NoArrays(MetaHostFile f) => f with
        {
            IngressBytes = [],
            EgressBytes = [],
            InRxmitBytes = [],
            OutRxmitBytes = [],
            InCongestionExperiencedBytes = [],
            Connections = [],
            IngressPackets = null,
            EgressPackets = null,
            InConnections = null,
            OutConnections = null,
            InCrossRegionBytes = null,
            OutCrossRegionBytes = null,
        };
        Assert.Equal(
            NoArrays(expected) with { IngressBytes = null!, EgressBytes = null!, InRxmitBytes = null!, OutRxmitBytes = null!, InCongestionExperiencedBytes = null!, Connections = null! },
            NoArrays(actual) with { IngressBytes = null!, EgressBytes = null!, InRxmitBytes = null!, OutRxmitBytes = null!, InCongestionExperiencedBytes = null!, Connections = null! });
    }

    private static void AssertFormatError(string path, string expected)
    {
        // Exactly DatasetFormatException: never a raw JsonException or InvalidDataException.
        Exception e = Record.Exception(() => MetaDataset.Read(path));
        var format = Assert.IsType<DatasetFormatException>(e);
        Assert.Equal(path, format.FilePath);
        Assert.StartsWith(path, format.Message);
        Assert.True(format.Message.Contains(expected, StringComparison.Ordinal), format.Message);
    }

    private string WritePlain(string name, string content)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, content);
        return path;
    }

    private string WriteGzip(string name, string content)
    {
        string path = Path.Combine(_dir, name);
        using var fs = File.Create(path);
        using var gz = new GZipStream(fs, CompressionLevel.Optimal);
        gz.Write(Encoding.UTF8.GetBytes(content));
        return path;
    }
}
