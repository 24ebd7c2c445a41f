using System.Buffers.Binary;
using System.IO.Compression;
using Google.Protobuf;
using Millisampler.Contracts.V1;

namespace Millisampler.Agent.Storage;

/// <summary>Why a run file was rejected.</summary>
internal enum RunFileDefect
{
    /// <summary>Shorter than its header, or than the lengths the header states.</summary>
    Truncated,
    /// <summary>Does not start with the magic bytes: not a run file.</summary>
    BadMagic,
    /// <summary>A format version this agent does not read.</summary>
    UnsupportedVersion,
    /// <summary>A compression codec this agent does not know.</summary>
    UnknownCodec,
    /// <summary>Longer than the header states, or a stated length beyond the limits.</summary>
    LengthMismatch,
    /// <summary>The CRC-32 does not match the contents.</summary>
    ChecksumMismatch,
    /// <summary>Checksum fine but the summary or payload does not decompress or parse, or names another run.</summary>
    Undecodable,
}

/// <summary>
/// Encodes a run into the bytes of one file and back, with no I/O.
/// </summary>
/// <remarks>
/// Layout, little-endian:
/// <code>
///  0  4  magic "MSRN"
///  4  2  format version (1)
///  6  1  codec (1 = Brotli)
///  7  1  reserved, 0
///  8  4  summary length, bytes: a RunSummary protobuf, uncompressed, so listing skips the series
/// 12  4  payload length, bytes: the Run protobuf, compressed
/// 16  4  payload length uncompressed, bytes
/// 20  4  CRC-32 (IEEE) of bytes 0..19 followed by everything from byte 24 to the end
/// 24     summary, then payload; the file ends exactly there
/// </code>
/// Brotli at quality 4 was chosen by measurement (bench StoreBenchmark, realistic 2,000-bin runs): the
/// smallest of the fast settings, about 4 % below ZLib optimal at 0.35 ms a run; quality 11 is 10 %
/// smaller but takes 90-190 ms a run, too much CPU for an agent saving a run every few seconds.
/// </remarks>
internal static class RunFileFormat
{
    /// <summary>Bytes before the summary.</summary>
    public const int HeaderLength = 24;

    /// <summary>Format version written.</summary>
    public const ushort CurrentVersion = 1;

    /// <summary>Largest summary accepted, bytes.</summary>
    public const int MaxSummaryBytes = 1 << 20;

    /// <summary>Largest uncompressed payload accepted, bytes; bounds what a corrupt header can make us allocate.</summary>
    public const int MaxPayloadBytes = 64 << 20;

    private const byte CodecBrotli = 1;
    private const int BrotliQuality = 4;
    private const int BrotliWindowBits = 22;
    private const int CrcOffset = 20;

    /// <summary>The four bytes every run file starts with.</summary>
    public static ReadOnlySpan<byte> Magic => "MSRN"u8;

    /// <summary>The summary listing returns for <paramref name="run"/>.</summary>
    public static RunSummary Summarize(Run run) => new()
    {
        RunId = run.RunId,
        Origin = run.Origin,
        StartTaiNs = run.StartTaiNs,
        BinWidthNs = run.BinWidthNs,
        Bins = run.Bins,
        BinsRecorded = run.BinsRecorded,
        Status = run.Status,
        StatusDetail = run.StatusDetail,
    };

    /// <summary>The whole file for <paramref name="run"/>.</summary>
    /// <exception cref="ArgumentException">The run is larger than the format's limits.</exception>
    public static byte[] Encode(Run run)
    {
        byte[] summary = Summarize(run).ToByteArray();
        byte[] raw = run.ToByteArray();
        if (summary.Length > MaxSummaryBytes)
        {
            throw new ArgumentException($"Run {run.RunId}: summary is {summary.Length} bytes (status_detail too long?); at most {MaxSummaryBytes} allowed.", nameof(run));
        }

        if (raw.Length > MaxPayloadBytes)
        {
            throw new ArgumentException($"Run {run.RunId}: {raw.Length} bytes encoded; at most {MaxPayloadBytes} allowed.", nameof(run));
        }

        var buffer = new byte[HeaderLength + summary.Length + BrotliEncoder.GetMaxCompressedLength(raw.Length)];
        summary.CopyTo(buffer, HeaderLength);
        int payloadOffset = HeaderLength + summary.Length;
        if (!BrotliEncoder.TryCompress(raw, buffer.AsSpan(payloadOffset), out int payloadLength, BrotliQuality, BrotliWindowBits))
        {
            throw new InvalidOperationException("Brotli compression did not fit its own maximum compressed length.");
        }

        var file = buffer.AsSpan(0, payloadOffset + payloadLength);
        Magic.CopyTo(file);
        BinaryPrimitives.WriteUInt16LittleEndian(file[4..], CurrentVersion);
        file[6] = CodecBrotli;
        file[7] = 0;
        BinaryPrimitives.WriteInt32LittleEndian(file[8..], summary.Length);
        BinaryPrimitives.WriteInt32LittleEndian(file[12..], payloadLength);
        BinaryPrimitives.WriteInt32LittleEndian(file[16..], raw.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(file[CrcOffset..], Checksum(file));
        return file.ToArray();
    }

    /// <summary>Checks the whole file and reads only its summary (no decompression).</summary>
    public static bool TryReadSummary(ReadOnlySpan<byte> file, out RunSummary? summary, out RunFileDefect defect)
    {
        summary = null;
        if (!TryCheck(file, out var layout, out defect))
        {
            return false;
        }

        try
        {
            summary = RunSummary.Parser.ParseFrom(file.Slice(HeaderLength, layout.SummaryLength));
            return true;
        }
        catch (InvalidProtocolBufferException)
        {
            defect = RunFileDefect.Undecodable;
            return false;
        }
    }

    /// <summary>Checks the whole file and decodes the run.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> file, out Run? run, out RunFileDefect defect)
    {
        run = null;
        if (!TryCheck(file, out var layout, out defect))
        {
            return false;
        }

        var raw = new byte[layout.RawLength];
        if (!BrotliDecoder.TryDecompress(file.Slice(HeaderLength + layout.SummaryLength, layout.PayloadLength), raw, out int written)
            || written != raw.Length)
        {
            defect = RunFileDefect.Undecodable;
            return false;
        }

        try
        {
            run = Run.Parser.ParseFrom(raw);
            return true;
        }
        catch (InvalidProtocolBufferException)
        {
            defect = RunFileDefect.Undecodable;
            return false;
        }
    }

    private static bool TryCheck(ReadOnlySpan<byte> file, out (int SummaryLength, int PayloadLength, int RawLength) layout, out RunFileDefect defect)
    {
        layout = default;
        if (file.Length < HeaderLength)
        {
            defect = file.Length >= Magic.Length && !file.StartsWith(Magic) ? RunFileDefect.BadMagic : RunFileDefect.Truncated;
            return false;
        }

        if (!file.StartsWith(Magic))
        {
            defect = RunFileDefect.BadMagic;
            return false;
        }

        if (BinaryPrimitives.ReadUInt16LittleEndian(file[4..]) != CurrentVersion)
        {
            defect = RunFileDefect.UnsupportedVersion;
            return false;
        }

        if (file[6] != CodecBrotli)
        {
            defect = RunFileDefect.UnknownCodec;
            return false;
        }

        int summaryLength = BinaryPrimitives.ReadInt32LittleEndian(file[8..]);
        int payloadLength = BinaryPrimitives.ReadInt32LittleEndian(file[12..]);
        int rawLength = BinaryPrimitives.ReadInt32LittleEndian(file[16..]);
        if (summaryLength is < 0 or > MaxSummaryBytes
            || payloadLength < 0 || payloadLength > BrotliEncoder.GetMaxCompressedLength(MaxPayloadBytes)
            || rawLength is < 0 or > MaxPayloadBytes)
        {
            defect = RunFileDefect.LengthMismatch;
            return false;
        }

        long expected = (long)HeaderLength + summaryLength + payloadLength;
        if (file.Length != expected)
        {
            defect = file.Length < expected ? RunFileDefect.Truncated : RunFileDefect.LengthMismatch;
            return false;
        }

        if (BinaryPrimitives.ReadUInt32LittleEndian(file[CrcOffset..]) != Checksum(file))
        {
            defect = RunFileDefect.ChecksumMismatch;
            return false;
        }

        layout = (summaryLength, payloadLength, rawLength);
        defect = default;
        return true;
    }

    private static uint Checksum(ReadOnlySpan<byte> file) =>
        Crc32.Append(Crc32.Compute(file[..CrcOffset]), file[HeaderLength..]);
}
