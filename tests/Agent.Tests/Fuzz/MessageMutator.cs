namespace Millisampler.Tests.Fuzz;

/// <summary>
/// Seeded mutations of a valid serialized protobuf message: bit flips, truncation, random field tags with random
/// lengths and payloads inserted anywhere, varints overwritten with extreme values, spliced and duplicated slices,
/// and plain random bytes.
/// </summary>
internal sealed class MessageMutator(int seed)
{
    private readonly Random _random = new(seed);

    public byte[] Mutate(byte[] valid)
    {
        var bytes = new List<byte>(valid);
        int rounds = 1 + _random.Next(3);
        for (int i = 0; i < rounds; i++)
        {
            switch (_random.Next(7))
            {
                case 0:
                    FlipBits(bytes);
                    break;
                case 1:
                    if (bytes.Count > 0)
                    {
                        int cut = _random.Next(bytes.Count);
                        bytes.RemoveRange(cut, bytes.Count - cut);
                    }

                    break;
                case 2:
                    bytes.InsertRange(_random.Next(bytes.Count + 1), RandomField());
                    break;
                case 3:
                    OverwriteVarint(bytes);
                    break;
                case 4:
                    Splice(bytes);
                    break;
                case 5:
                    bytes.InsertRange(_random.Next(bytes.Count + 1), RandomBytes(1 + _random.Next(16)));
                    break;
                default:
                    if (_random.Next(8) == 0)
                    {
                        bytes.Clear();
                        bytes.AddRange(RandomBytes(_random.Next(64)));
                    }
                    else
                    {
                        FlipBits(bytes);
                    }

                    break;
            }
        }

        return [.. bytes];
    }

    private void FlipBits(List<byte> bytes)
    {
        if (bytes.Count == 0)
        {
            return;
        }

        int flips = 1 + _random.Next(4);
        for (int i = 0; i < flips; i++)
        {
            int at = _random.Next(bytes.Count);
            bytes[at] ^= (byte)(1 << _random.Next(8));
        }
    }

    /// <summary>A tag with a random field number and wire type (the invalid 6 and 7 included), then a plausible or absurd body.</summary>
    private byte[] RandomField()
    {
        var field = new List<byte>();
        ulong number = _random.Next(4) switch
        {
            0 => (ulong)_random.Next(1, 16),
            1 => (ulong)_random.Next(16, 2048),
            2 => (1UL << 29) - 1,
            _ => (ulong)_random.NextInt64(0, 1L << 32),
        };
        int wire = _random.Next(8);
        Varint(field, (number << 3) | (uint)wire);
        switch (wire)
        {
            case 0:
                Varint(field, Extreme());
                break;
            case 1:
                field.AddRange(RandomBytes(8));
                break;
            case 2:
                int length = _random.Next(24);
                // Sometimes the declared length does not match what follows.
                Varint(field, _random.Next(4) == 0 ? Extreme() : (ulong)length);
                field.AddRange(RandomBytes(length));
                break;
            case 5:
                field.AddRange(RandomBytes(4));
                break;
            default:
                field.AddRange(RandomBytes(_random.Next(6)));
                break;
        }

        return [.. field];
    }

    private void OverwriteVarint(List<byte> bytes)
    {
        var varint = new List<byte>();
        Varint(varint, Extreme());
        int at = _random.Next(bytes.Count + 1);
        int remove = Math.Min(bytes.Count - at, _random.Next(1, 11));
        bytes.RemoveRange(at, remove);
        bytes.InsertRange(at, varint);
    }

    private void Splice(List<byte> bytes)
    {
        if (bytes.Count == 0)
        {
            return;
        }

        int from = _random.Next(bytes.Count);
        int length = _random.Next(1, bytes.Count - from + 1);
        byte[] slice = [.. bytes.GetRange(from, length)];
        bytes.InsertRange(_random.Next(bytes.Count + 1), slice);
    }

    private ulong Extreme() => _random.Next(8) switch
    {
        0 => 0,
        1 => ulong.MaxValue,
        2 => long.MaxValue,
        3 => 1UL << 63,
        4 => uint.MaxValue,
        5 => (ulong)int.MaxValue + 1,
        6 => (ulong)_random.Next(1, 1000),
        _ => (ulong)_random.NextInt64(),
    };

    private byte[] RandomBytes(int count)
    {
        byte[] b = new byte[count];
        _random.NextBytes(b);
        return b;
    }

    private static void Varint(List<byte> to, ulong value)
    {
        while (value >= 0x80)
        {
            to.Add((byte)(value | 0x80));
            value >>= 7;
        }

        to.Add((byte)value);
    }
}
