using System.Buffers.Binary;
using System.Net.Sockets;

namespace Millisampler.Lab;

/// <summary>
/// The fields of Linux struct tcp_info the lab reports, read with getsockopt(SOL_TCP, TCP_INFO).
/// Offsets were printed by offsetof() against linux/tcp.h (linux-libc-dev 6.1) on x86_64 and checked on
/// a 6.18 kernel; the struct only grows at its end, so they hold on every kernel that has the field
/// (tcpi_bytes_retrans since 4.19).
/// </summary>
/// <param name="State">tcpi_state (1 = ESTABLISHED, 4 = FIN_WAIT1, 5 = FIN_WAIT2, 7 = CLOSE ...).</param>
/// <param name="RttUs">tcpi_rtt: smoothed RTT, µs.</param>
/// <param name="RttVarUs">tcpi_rttvar, µs.</param>
/// <param name="SndCwnd">tcpi_snd_cwnd, segments.</param>
/// <param name="TotalRetrans">tcpi_total_retrans: segments retransmitted over the connection's life.</param>
/// <param name="BytesAcked">tcpi_bytes_acked, bytes.</param>
/// <param name="SegsOut">tcpi_segs_out: segments sent, retransmissions included.</param>
/// <param name="MinRttUs">tcpi_min_rtt, µs.</param>
/// <param name="DataSegsOut">tcpi_data_segs_out: segments with payload sent.</param>
/// <param name="BytesSent">tcpi_bytes_sent: payload bytes sent, retransmissions included.</param>
/// <param name="BytesRetrans">tcpi_bytes_retrans: payload bytes retransmitted.</param>
/// <param name="Delivered">tcpi_delivered: segments delivered (acknowledged).</param>
/// <param name="DeliveredCe">tcpi_delivered_ce: segments delivered that the receiver echoed as CE-marked (ECE).</param>
public readonly record struct TcpInfo(
    byte State,
    uint RttUs,
    uint RttVarUs,
    uint SndCwnd,
    uint TotalRetrans,
    ulong BytesAcked,
    uint SegsOut,
    uint MinRttUs,
    uint DataSegsOut,
    ulong BytesSent,
    ulong BytesRetrans,
    uint Delivered,
    uint DeliveredCe)
{
    /// <summary>SOL_TCP.</summary>
    public const int SolTcp = 6;

    /// <summary>TCP_INFO socket option.</summary>
    public const int TcpInfoOption = 11;

    // offsetof(struct tcp_info, ...), from gcc; see the type's summary.
    internal const int StateOffset = 0;
    internal const int RttOffset = 68;
    internal const int RttVarOffset = 72;
    internal const int SndCwndOffset = 80;
    internal const int TotalRetransOffset = 100;
    internal const int BytesAckedOffset = 120;
    internal const int SegsOutOffset = 136;
    internal const int MinRttOffset = 148;
    internal const int DataSegsOutOffset = 156;
    internal const int DeliveredOffset = 192;
    internal const int DeliveredCeOffset = 196;
    internal const int BytesSentOffset = 200;
    internal const int BytesRetransOffset = 208;

    /// <summary>Bytes the kernel must return for every field here to be present.</summary>
    public const int MinimumLength = BytesRetransOffset + 8;

    /// <summary>Reads TCP_INFO of a connected TCP socket.</summary>
    public static TcpInfo Read(Socket socket)
    {
        ArgumentNullException.ThrowIfNull(socket);
        Span<byte> buffer = stackalloc byte[512];
        var length = socket.GetRawSocketOption(SolTcp, TcpInfoOption, buffer);
        return Parse(buffer[..length]);
    }

    /// <summary>Decodes a struct tcp_info as returned by the kernel (native little-endian).</summary>
    public static TcpInfo Parse(ReadOnlySpan<byte> raw)
    {
        if (raw.Length < MinimumLength)
        {
            throw new NotSupportedException($"TCP_INFO returned {raw.Length} bytes; need {MinimumLength} (kernel 4.19 or later).");
        }
        return new TcpInfo(
            raw[StateOffset],
            U32(raw, RttOffset),
            U32(raw, RttVarOffset),
            U32(raw, SndCwndOffset),
            U32(raw, TotalRetransOffset),
            U64(raw, BytesAckedOffset),
            U32(raw, SegsOutOffset),
            U32(raw, MinRttOffset),
            U32(raw, DataSegsOutOffset),
            U64(raw, BytesSentOffset),
            U64(raw, BytesRetransOffset),
            U32(raw, DeliveredOffset),
            U32(raw, DeliveredCeOffset));
    }

    private static uint U32(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt32LittleEndian(b[at..]);

    private static ulong U64(ReadOnlySpan<byte> b, int at) => BinaryPrimitives.ReadUInt64LittleEndian(b[at..]);
}

/// <summary>Sums of <see cref="TcpInfo"/> over several connections.</summary>
/// <param name="Connections">How many connections were summed.</param>
/// <param name="BytesRetrans">Sum of tcpi_bytes_retrans.</param>
/// <param name="TotalRetrans">Sum of tcpi_total_retrans (segments).</param>
/// <param name="BytesSent">Sum of tcpi_bytes_sent.</param>
/// <param name="SegsOut">Sum of tcpi_segs_out.</param>
/// <param name="DataSegsOut">Sum of tcpi_data_segs_out.</param>
/// <param name="DeliveredCe">Sum of tcpi_delivered_ce (segments echoed as CE-marked).</param>
/// <param name="MeanRttUs">Mean of tcpi_rtt, µs.</param>
/// <param name="MaxRttUs">Largest tcpi_rtt, µs.</param>
/// <param name="MinRttUs">Smallest tcpi_rtt, µs.</param>
public sealed record TcpInfoTotals(
    int Connections,
    long BytesRetrans,
    long TotalRetrans,
    long BytesSent,
    long SegsOut,
    long DataSegsOut,
    long DeliveredCe,
    double MeanRttUs,
    uint MaxRttUs,
    uint MinRttUs)
{
    /// <summary>Sums the readings.</summary>
    public static TcpInfoTotals From(IReadOnlyCollection<TcpInfo> infos)
    {
        ArgumentNullException.ThrowIfNull(infos);
        if (infos.Count == 0)
        {
            return new TcpInfoTotals(0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
        }
        return new TcpInfoTotals(
            infos.Count,
            infos.Sum(i => (long)i.BytesRetrans),
            infos.Sum(i => (long)i.TotalRetrans),
            infos.Sum(i => (long)i.BytesSent),
            infos.Sum(i => (long)i.SegsOut),
            infos.Sum(i => (long)i.DataSegsOut),
            infos.Sum(i => (long)i.DeliveredCe),
            infos.Average(i => (double)i.RttUs),
            infos.Max(i => i.RttUs),
            infos.Min(i => i.RttUs));
    }
}
