using System.Buffers.Binary;
using System.Text;
using Millisampler.Agent.Bpf.Native;

namespace Millisampler.Agent.Bpf;

/// <summary>
/// Reads the name tc keeps with a cls_bpf filter (TCA_BPF_NAME; libbpf stores "prog_name:[id]")
/// from an rtnetlink filter dump. Unlike looking the program up by id (BPF_PROG_GET_FD_BY_ID,
/// which needs CAP_SYS_ADMIN), this needs only what attaching needs, so an agent running with
/// BPF, PERFMON and NET_ADMIN can still recognise the filter a crashed run of itself left behind.
/// </summary>
internal static class TcFilterNames
{
    private const ushort RtmNewTFilter = 44;
    private const ushort RtmGetTFilter = 46;
    private const ushort NlmFRequest = 0x1;
    private const ushort NlmFDump = 0x300;
    private const ushort NlmsgError = 2;
    private const ushort NlmsgDone = 3;
    private const ushort TcaKind = 1;
    private const ushort TcaOptions = 2;
    private const ushort TcaBpfName = 7;
    private const uint ClsactIngressParent = 0xFFFF_FFF2;
    private const uint ClsactEgressParent = 0xFFFF_FFF3;

    /// <summary>
    /// The TCA_BPF_NAME of the bpf filter at (<paramref name="handle"/>, <paramref name="priority"/>)
    /// on the interface's clsact hook, in the calling thread's network namespace; null when there is
    /// none or the dump fails.
    /// </summary>
    public static string? Read(int ifIndex, HookDirection direction, ushort priority, uint handle)
    {
        int fd = Libc.Socket(Libc.AfNetlink, Libc.SockRaw | Libc.SockCloseOnExec, Libc.NetlinkRoute);
        if (fd < 0)
        {
            return null;
        }

        try
        {
            var timeout = new long[] { 2, 0 }; // struct timeval: 2 s
            Libc.SetSockOpt(fd, Libc.SolSocket, Libc.SoRcvTimeout, timeout, 16);
            var request = Request(ifIndex, direction == HookDirection.Ingress ? ClsactIngressParent : ClsactEgressParent);
            if (Libc.Send(fd, request, request.Length, 0) != request.Length)
            {
                return null;
            }

            var buffer = new byte[64 * 1024];
            string? found = null;
            while (true)
            {
                int n = (int)Libc.Recv(fd, buffer, buffer.Length, 0);
                if (n <= 0)
                {
                    return found;
                }

                int offset = 0;
                while (offset + 16 <= n)
                {
                    var msg = buffer.AsSpan(offset, n - offset);
                    int length = (int)BinaryPrimitives.ReadUInt32LittleEndian(msg);
                    ushort type = BinaryPrimitives.ReadUInt16LittleEndian(msg[4..]);
                    if (length < 16 || length > msg.Length)
                    {
                        return found;
                    }

                    if (type is NlmsgDone or NlmsgError)
                    {
                        return found;
                    }

                    if (type == RtmNewTFilter)
                    {
                        found ??= Match(msg[16..length], priority, handle);
                    }

                    offset += Align(length);
                }
            }
        }
        finally
        {
            Libc.Close(fd);
        }
    }

    private static byte[] Request(int ifIndex, uint parent)
    {
        var req = new byte[16 + 20];
        BinaryPrimitives.WriteUInt32LittleEndian(req, (uint)req.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(req.AsSpan(4), RtmGetTFilter);
        BinaryPrimitives.WriteUInt16LittleEndian(req.AsSpan(6), NlmFRequest | NlmFDump);
        // struct tcmsg: family, pad, ifindex, handle, parent, info
        BinaryPrimitives.WriteInt32LittleEndian(req.AsSpan(16 + 4), ifIndex);
        BinaryPrimitives.WriteUInt32LittleEndian(req.AsSpan(16 + 12), parent);
        return req;
    }

    /// <summary>The filter's bpf name when it sits at our handle and priority.</summary>
    private static string? Match(ReadOnlySpan<byte> payload, ushort priority, uint handle)
    {
        if (payload.Length < 20)
        {
            return null;
        }

        uint filterHandle = BinaryPrimitives.ReadUInt32LittleEndian(payload[8..]);
        uint info = BinaryPrimitives.ReadUInt32LittleEndian(payload[16..]);
        if (filterHandle != handle || (info >> 16) != priority)
        {
            return null;
        }

        string? kind = null, name = null;
        foreach (var (type, value) in Attributes(payload[20..]))
        {
            if (type == TcaKind)
            {
                kind = CString(value);
            }
            else if (type == TcaOptions)
            {
                foreach (var (inner, innerValue) in Attributes(value))
                {
                    if (inner == TcaBpfName)
                    {
                        name = CString(innerValue);
                    }
                }
            }
        }
        return kind == "bpf" ? name : null;
    }

    private static List<(ushort Type, byte[] Value)> Attributes(ReadOnlySpan<byte> data)
    {
        var list = new List<(ushort, byte[])>();
        int offset = 0;
        while (offset + 4 <= data.Length)
        {
            ushort length = BinaryPrimitives.ReadUInt16LittleEndian(data[offset..]);
            ushort type = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(data[(offset + 2)..]) & 0x3FFF);
            if (length < 4 || offset + length > data.Length)
            {
                break;
            }

            list.Add((type, data.Slice(offset + 4, length - 4).ToArray()));
            offset += Align(length);
        }
        return list;
    }

    private static string CString(byte[] value)
    {
        int end = Array.IndexOf(value, (byte)0);
        return Encoding.ASCII.GetString(value, 0, end < 0 ? value.Length : end);
    }

    private static int Align(int length) => (length + 3) & ~3;
}
