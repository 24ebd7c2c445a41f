using System.Globalization;

namespace Millisampler.Common.Text;

/// <summary>
/// Link rates as engineers type them: 10g, 25G, 12.5g, 100m, 10 Gbit/s, 10gbps, 1000000 (bits/s). One parser for
/// every command and configuration value.
/// </summary>
public static class RateText
{
    // Longest first. Not "b" or "B" alone: 10GB might mean gigabytes.
    private static readonly string[] UnitWords = ["bits/s", "bit/s", "bits", "bps", "bit", "b/s"];

    /// <summary>
    /// Parses a positive rate in bits/s: a number with an optional decimal prefix k, m, g, t (10^3 … 10^12; m is
    /// mega here; any case), optionally followed by bit, bits, bps, bit/s or b/s, with optional spaces between.
    /// "25g" = 25e9, "100m" = 1e8, "12.5gbit" = 12.5e9, "10 Gbit/s" = 1e10.
    /// </summary>
    public static bool TryParseBitsPerSecond(string? text, out double bitsPerSecond)
    {
        bitsPerSecond = 0;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        string t = text.Trim().ToLowerInvariant();
        foreach (string word in UnitWords)
        {
            if (t.EndsWith(word, StringComparison.Ordinal) && t.Length > word.Length)
            {
                t = t[..^word.Length].TrimEnd();
                break;
            }
        }

        double scale = 1;
        if (t.Length > 0)
        {
            scale = t[^1] switch
            {
                'k' => 1e3,
                'm' => 1e6,
                'g' => 1e9,
                't' => 1e12,
                _ => 1,
            };

            if (scale != 1)
            {
                t = t[..^1];
            }
        }

        if (!double.TryParse(t.TrimEnd(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double value)
            || !(value > 0) || double.IsInfinity(value * scale))
        {
            return false;
        }

        bitsPerSecond = value * scale;
        return true;
    }

    /// <summary>
    /// <see cref="TryParseBitsPerSecond(string?, out double)"/> as a whole number of bits/s (a link speed as the
    /// kernel states it); false when the rate is below 1 bit/s or beyond <see cref="ulong"/>.
    /// </summary>
    public static bool TryParseLinkSpeed(string? text, out ulong bitsPerSecond)
    {
        bitsPerSecond = 0;
        if (!TryParseBitsPerSecond(text, out double bps) || bps < 1 || bps >= 18_446_744_073_709_551_615d)
        {
            return false;
        }

        bitsPerSecond = (ulong)Math.Round(bps);
        return true;
    }

    /// <summary>A rate for reading: "25 Gbit/s", "12.5 Gbit/s", "100 Mbit/s".</summary>
    public static string Format(double bitsPerSecond)
    {
        (double scale, string unit) = Math.Abs(bitsPerSecond) switch
        {
            >= 1e12 => (1e12, "Tbit/s"),
            >= 1e9 => (1e9, "Gbit/s"),
            >= 1e6 => (1e6, "Mbit/s"),
            >= 1e3 => (1e3, "kbit/s"),
            _ => (1d, "bit/s"),
        };
        return Significant(bitsPerSecond / scale) + " " + unit;
    }

    /// <summary>Three significant digits, trailing zeros dropped: 1.23, 12.3, 123, 1234.</summary>
    public static string Significant(double v) =>
        v.ToString(Math.Abs(v) switch { < 10 => "0.##", < 100 => "0.#", _ => "0" }, CultureInfo.InvariantCulture);
}
