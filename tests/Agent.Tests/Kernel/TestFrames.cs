using System.Buffers.Binary;
using System.Net;

namespace Millisampler.Agent.Tests.Kernel;

/// <summary>Hand-built Ethernet frames for BPF_PROG_TEST_RUN: exactly the bytes a test names, nothing more.</summary>
internal static class TestFrames
{
    public const byte HopByHop = 0;
    public const byte Tcp = 6;
    public const byte Udp = 17;
    public const byte Fragment = 44;
    public const byte NoNextHeader = 59;
    public const byte DestinationOptions = 60;

    /// <summary>Ethernet (optionally one 802.1Q tag) + IPv4 + <paramref name="l4"/>; the IP length covers the bytes given.</summary>
    public static byte[] Ipv4(IPAddress src, IPAddress dst, byte protocol, byte[] l4, ushort? vlan = null, ushort fragmentOffset = 0, byte tos = 0)
    {
        var ip = new byte[20 + l4.Length];
        ip[0] = 0x45;
        ip[1] = tos;
        BinaryPrimitives.WriteUInt16BigEndian(ip.AsSpan(2), (ushort)ip.Length);
        BinaryPrimitives.WriteUInt16BigEndian(ip.AsSpan(4), 7);
        BinaryPrimitives.WriteUInt16BigEndian(ip.AsSpan(6), fragmentOffset);
        ip[8] = 64;
        ip[9] = protocol;
        src.TryWriteBytes(ip.AsSpan(12), out _);
        dst.TryWriteBytes(ip.AsSpan(16), out _);
        l4.CopyTo(ip, 20);
        return Ethernet(0x0800, ip, vlan);
    }

    /// <summary>Ethernet + IPv6 whose first next header is <paramref name="nextHeader"/>, then <paramref name="rest"/> as given.</summary>
    /// <param name="payloadLength">The IPv6 payload length field; the length of <paramref name="rest"/> when null.</param>
    public static byte[] Ipv6(IPAddress src, IPAddress dst, byte nextHeader, byte[] rest, ushort? payloadLength = null)
    {
        var ip = new byte[40 + rest.Length];
        ip[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(ip.AsSpan(4), payloadLength ?? (ushort)rest.Length);
        ip[6] = nextHeader;
        ip[7] = 64;
        src.TryWriteBytes(ip.AsSpan(8), out _);
        dst.TryWriteBytes(ip.AsSpan(24), out _);
        rest.CopyTo(ip, 40);
        return Ethernet(0x86dd, ip, vlan: null);
    }

    /// <summary>An IPv6 extension header of <paramref name="length"/> bytes (a multiple of 8) pointing at <paramref name="next"/>.</summary>
    public static byte[] Extension(byte next, int length)
    {
        var ext = new byte[length];
        ext[0] = next;
        ext[1] = (byte)(length / 8 - 1);
        return ext;
    }

    /// <summary>An IPv6 fragment header (8 bytes) at <paramref name="offsetUnits"/> × 8 bytes.</summary>
    public static byte[] FragmentHeader(byte next, ushort offsetUnits)
    {
        var ext = new byte[8];
        ext[0] = next;
        BinaryPrimitives.WriteUInt16BigEndian(ext.AsSpan(2), (ushort)(offsetUnits << 3));
        return ext;
    }

    /// <summary>A 20-byte TCP header (ACK) and <paramref name="payload"/> zero bytes.</summary>
    public static byte[] TcpSegment(ushort sport, ushort dport, uint seq, int payload)
    {
        var t = new byte[20 + payload];
        BinaryPrimitives.WriteUInt16BigEndian(t, sport);
        BinaryPrimitives.WriteUInt16BigEndian(t.AsSpan(2), dport);
        BinaryPrimitives.WriteUInt32BigEndian(t.AsSpan(4), seq);
        t[12] = 5 << 4;
        t[13] = 0x10;
        return t;
    }

    public static byte[] UdpDatagram(ushort sport, ushort dport, int payload)
    {
        var u = new byte[8 + payload];
        BinaryPrimitives.WriteUInt16BigEndian(u, sport);
        BinaryPrimitives.WriteUInt16BigEndian(u.AsSpan(2), dport);
        BinaryPrimitives.WriteUInt16BigEndian(u.AsSpan(4), (ushort)u.Length);
        return u;
    }

    public static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    /// <summary>An ARP request: not IP.</summary>
    public static byte[] Arp() => Ethernet(0x0806, new byte[28], vlan: null);

    private static byte[] Ethernet(ushort etherType, byte[] payload, ushort? vlan)
    {
        int header = vlan is null ? 14 : 18;
        var f = new byte[header + payload.Length];
        f[0] = 0x02; f[5] = 0x02; f[6] = 0x02; f[11] = 0x01;
        if (vlan is { } tag)
        {
            BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(12), 0x8100);
            BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(14), tag);
        }
        BinaryPrimitives.WriteUInt16BigEndian(f.AsSpan(header - 2), etherType);
        payload.CopyTo(f, header);
        return f;
    }
}
