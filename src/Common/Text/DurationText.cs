using System.Globalization;

namespace Millisampler.Common.Text;

/// <summary>
/// Durations as engineers type them: 100us, 100µs, 1ms, 1.5ms, 10 ms, 2s, 30m, 1h, 2d. One parser for every
/// command and configuration value, so a duration means the same everywhere.
/// </summary>
public static class DurationText
{
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

    /// <summary>The units <see cref="TryParseNs"/> accepts, for help and error texts.</summary>
    public const string UnitsAccepted = "ns, us, µs, ms, s, m, h, d";

    /// <summary>
    /// Parses a positive duration with a unit (ns, us, µs, ms, s, m, h, d; any case, optional space before the
    /// unit) into nanoseconds. A fraction is allowed when the result is a whole number of ns (1.5ms yes, 1.5ns no).
    /// False on anything else, zero and a bare number included.
    /// </summary>
    public static bool TryParseNs(string? text, out long ns)
    {
        ns = 0;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        string t = text.Trim();

        // The longest matching suffix, so "ms" is not read as "m" (minutes) after junk.
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

    /// <summary>
    /// The shortest exact text with a whole number: 100us, 1500us, 2s. No decimal point, so it fits in
    /// identifiers (run ids); <see cref="TryParseNs"/> reads it back to the same value.
    /// </summary>
    public static string FormatExact(long ns) => ns switch
    {
        0 => "0s",
        _ when ns % 1_000_000_000 == 0 => $"{ns / 1_000_000_000}s",
        _ when ns % 1_000_000 == 0 => $"{ns / 1_000_000}ms",
        _ when ns % 1_000 == 0 => $"{ns / 1_000}us",
        _ => $"{ns}ns",
    };

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
