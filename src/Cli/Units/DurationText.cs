using System.Globalization;

namespace Millisampler.Cli.Units;

/// <summary>Durations as engineers type them: 100us, 1ms, 1.5ms, 10ms, 2s, 30m, 1h, 2d.</summary>
public static class DurationText
{
    // Longest suffix first, so "ms" is not read as "m" (minutes) followed by junk.
    private static readonly (string Suffix, long Ns)[] Units =
    [
        ("ns", 1),
        ("us", 1_000),
        ("µs", 1_000),
        ("ms", 1_000_000),
        ("s", 1_000_000_000),
        ("m", 60_000_000_000),
        ("h", 3_600_000_000_000),
        ("d", 86_400_000_000_000),
    ];

    /// <summary>
    /// Parses a positive duration with a unit (ns, us, µs, ms, s, m, h, d) into nanoseconds. A fraction is allowed
    /// when the result is a whole number of ns (1.5ms yes, 1.5ns no). False on anything else, zero included.
    /// </summary>
    public static bool TryParseNs(string? text, out long ns)
    {
        ns = 0;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        string t = text.Trim();
        (string Suffix, long Ns)? unit = null;
        foreach ((string suffix, long scale) in Units)
        {
            if (t.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)
                && (unit is null || suffix.Length > unit.Value.Suffix.Length))
            {
                unit = (suffix, scale);
            }
        }

        if (unit is not { } u)
        {
            return false;
        }

        string number = t[..^u.Suffix.Length].TrimEnd();
        if (!decimal.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal value) || value <= 0)
        {
            return false;
        }

        decimal total;
        try
        {
            total = value * u.Ns;
        }
        catch (OverflowException)
        {
            return false;
        }

        if (total > long.MaxValue || total != decimal.Truncate(total))
        {
            return false;
        }

        ns = (long)total;
        return true;
    }

    /// <summary>A duration for reading: the largest unit (s, ms, us, ns) in which it is at least 1, up to 6 decimals: 1.5ms, 100us, 2s.</summary>
    public static string Format(long ns)
    {
        long abs = Math.Abs(ns);
        (long scale, string unit) = abs switch
        {
            >= 1_000_000_000 => (1_000_000_000L, "s"),
            >= 1_000_000 => (1_000_000L, "ms"),
            >= 1_000 => (1_000L, "us"),
            _ => (1L, "ns"),
        };
        return ((decimal)ns / scale).ToString("0.######", CultureInfo.InvariantCulture) + unit;
    }

    /// <summary>An offset from the start of a capture: "+12ms", "+0s" for zero.</summary>
    public static string FormatOffset(long ns) => ns == 0 ? "+0s" : "+" + Format(ns);

    /// <summary>A coarse age for "last seen": "&lt;1s", "42s", "5m", "3h", "2d" (whole units, rounded down).</summary>
    public static string FormatAgo(long ns) => ns switch
    {
        < 1_000_000_000 => "<1s",
        < 120_000_000_000 => $"{ns / 1_000_000_000}s",
        < 7_200_000_000_000 => $"{ns / 60_000_000_000}m",
        < 172_800_000_000_000 => $"{ns / 3_600_000_000_000}h",
        _ => $"{ns / 86_400_000_000_000}d",
    };
}
