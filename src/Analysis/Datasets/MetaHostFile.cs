namespace Millisampler.Analysis.Datasets;

/// <summary>
/// One host's file in the shape of Meta's SyncMillisampler data set (facebookresearch/Millisampler-data), plus
/// optional fields of ours that Meta's files do not carry. Field by field, with units: docs/dataset-format.md.
/// Series have one value per sample; they may differ in length (Meta's readers zero-pad).
/// </summary>
/// <param name="ServerHostname">server_hostname (Meta's files may hold a number; it is kept as text).</param>
/// <param name="RackId">rack_id (kept as text).</param>
/// <param name="SamplingFreq">sampling_freq as the file states it: the sampling interval in milliseconds
/// (despite the name; see docs/dataset-format.md for the evidence); null when absent or not numeric.</param>
/// <param name="IngressBytes">ingressBytes: bytes received per sample.</param>
/// <param name="EgressBytes">egressBytes: bytes sent per sample.</param>
/// <param name="InRxmitBytes">inRxmitBytes: retransmitted bytes received per sample.</param>
/// <param name="OutRxmitBytes">outRxmitBytes: retransmitted bytes sent per sample.</param>
/// <param name="InCongestionExperiencedBytes">inCongestionExperiencedBytes: received bytes marked ECN CE per sample.</param>
/// <param name="Connections">connections: estimated active connections per sample, either direction.</param>
/// <param name="IngressPackets">Ours: packets received per sample.</param>
/// <param name="EgressPackets">Ours: packets sent per sample.</param>
/// <param name="InConnections">Ours: estimated ingress connections per sample.</param>
/// <param name="OutConnections">Ours: estimated egress connections per sample.</param>
/// <param name="InCrossRegionBytes">Ours: bytes received from cross-region flows per sample.</param>
/// <param name="OutCrossRegionBytes">Ours: bytes sent to cross-region flows per sample.</param>
/// <param name="StartTaiNs">Ours: start of sample 0, TAI ns since the epoch.</param>
/// <param name="BinWidthNs">Ours: sampling interval, ns (exact; sampling_freq is the same in ms).</param>
/// <param name="Bins">Ours: samples requested.</param>
/// <param name="BinsRecorded">Ours: samples actually covered (fewer when the run was cut short).</param>
/// <param name="LinkSpeedBitsPerSecond">Ours: link speed of the watched interfaces, bits/s.</param>
/// <param name="ClockErrorNs">Ours: clock error bound at arm time, ns; -1 = unknown (clock unsynchronized).</param>
/// <param name="RunId">Ours: the run this file came from.</param>
public sealed record MetaHostFile(
    string ServerHostname,
    string RackId,
    double? SamplingFreq,
    ulong[] IngressBytes,
    ulong[] EgressBytes,
    ulong[] InRxmitBytes,
    ulong[] OutRxmitBytes,
    ulong[] InCongestionExperiencedBytes,
    ulong[] Connections,
    ulong[]? IngressPackets = null,
    ulong[]? EgressPackets = null,
    ulong[]? InConnections = null,
    ulong[]? OutConnections = null,
    ulong[]? InCrossRegionBytes = null,
    ulong[]? OutCrossRegionBytes = null,
    long? StartTaiNs = null,
    long? BinWidthNs = null,
    int? Bins = null,
    int? BinsRecorded = null,
    double? LinkSpeedBitsPerSecond = null,
    long? ClockErrorNs = null,
    string? RunId = null);

/// <summary>Data-set input that cannot be used: names the file (or directory, or host) and says what is wrong.</summary>
public sealed class DatasetFormatException : Exception
{
    /// <summary>Creates the exception; the message starts with the file's name.</summary>
    public DatasetFormatException(string filePath, string problem, Exception? inner = null)
        : base($"{filePath}: {problem}", inner)
    {
        FilePath = filePath;
        Problem = problem;
    }

    /// <summary>The file, directory or host ("host 'h' of rack 'r'") the problem concerns.</summary>
    public string FilePath { get; }

    /// <summary>What is wrong with it, without the file name.</summary>
    public string Problem { get; }
}
