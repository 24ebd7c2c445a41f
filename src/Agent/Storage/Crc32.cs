namespace Millisampler.Agent.Storage;

/// <summary>CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the checksum zlib and PNG use.</summary>
/// <remarks>Hand-written so the agent needs no System.IO.Hashing package; a run file is at most tens of KiB.</remarks>
internal static class Crc32
{
    private static readonly uint[] Table = CreateTable();

    /// <summary>Feeds <paramref name="data"/> into a running CRC; start with 0, chain the result.</summary>
    public static uint Append(uint crc, ReadOnlySpan<byte> data)
    {
        uint c = ~crc;
        foreach (byte b in data)
        {
            c = Table[(c ^ b) & 0xFF] ^ (c >> 8);
        }

        return ~c;
    }

    /// <summary>CRC-32 of <paramref name="data"/>.</summary>
    public static uint Compute(ReadOnlySpan<byte> data) => Append(0, data);

    private static uint[] CreateTable()
    {
        var table = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }

            table[n] = c;
        }

        return table;
    }
}
