using System.Buffers.Binary;

namespace Millisampler.Lab.Tests.Traffic;

public sealed class TcpInfoTests
{
    [Fact]
    public void Parse_ReadsFieldsAtKernelOffsets()
    {
        var raw = new byte[232];
        raw[0] = 1;
        BinaryPrimitives.WriteUInt32LittleEndian(raw.AsSpan(68), 1234);
        BinaryPrimitives.WriteUInt32LittleEndian(raw.AsSpan(100), 7);
        BinaryPrimitives.WriteUInt32LittleEndian(raw.AsSpan(136), 999);
        BinaryPrimitives.WriteUInt32LittleEndian(raw.AsSpan(156), 888);
        BinaryPrimitives.WriteUInt64LittleEndian(raw.AsSpan(200), 5_000_000_000);
        BinaryPrimitives.WriteUInt64LittleEndian(raw.AsSpan(208), 42_000);
        BinaryPrimitives.WriteUInt32LittleEndian(raw.AsSpan(196), 3);

        var info = TcpInfo.Parse(raw);

        Assert.Equal(1, info.State);
        Assert.Equal(1234u, info.RttUs);
        Assert.Equal(7u, info.TotalRetrans);
        Assert.Equal(999u, info.SegsOut);
        Assert.Equal(888u, info.DataSegsOut);
        Assert.Equal(5_000_000_000ul, info.BytesSent);
        Assert.Equal(42_000ul, info.BytesRetrans);
        Assert.Equal(3u, info.DeliveredCe);
    }

    [Fact]
    public void Parse_ShortBuffer_Throws() => Assert.Throws<NotSupportedException>(() => TcpInfo.Parse(new byte[104]));
}
