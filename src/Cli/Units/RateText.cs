using System.Globalization;

namespace Millisampler.Cli.Units;

/// <summary>Link rates as engineers type them: 10g, 25g, 12.5g, 100m, 1000000 (bits/s).</summary>
public static class RateText
{
    // Not "b" or "B" alone: 10GB might mean gigabytes.
    private static readonly string[] UnitWords = ["bit/s", "bits/s", "bps", "bit"];

    /// <summary>
    /// Parses a positive rate in bits/s: a number with an optional decimal prefix k, m, g, t (10^3 … 10^12; m is
    /// mega here), optionally followed by bit, bps or bit/s. "25g" = 25e9, "100m" = 1e8, "12.5gbit" = 12.5e9.
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
                t = t[..^word.Length];
                break;
            }
        }

        double scale = 1;
        if (t.Length > 0)
        {
            switch (t[^1])
            {
                case 'k':
                    scale = 1e3;
                    break;
                case 'm':
                    scale = 1e6;
                    break;
                case 'g':
                    scale = 1e9;
                    break;
                case 't':
                    scale = 1e12;
                    break;
            }

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
    internal static string Significant(double v) =>
        v.ToString(Math.Abs(v) switch { < 10 => "0.##", < 100 => "0.#", _ => "0" }, CultureInfo.InvariantCulture);
}
