using System.Globalization;

namespace Millisampler.Common.Text;

/// <summary>Byte counts and fractions for reading.</summary>
public static class SizeText
{
    /// <summary>Decimal units, three significant digits: "999 B", "1.23 kB", "45.6 MB".</summary>
    public static string Bytes(ulong bytes)
    {
        if (bytes < 1000)
        {
            return bytes.ToString(CultureInfo.InvariantCulture) + " B";
        }

        string[] units = ["kB", "MB", "GB", "TB", "PB", "EB"];
        double v = bytes;
        int i = -1;
        while (v >= 1000 && i < units.Length - 1)
        {
            v /= 1000;
            i++;
        }

        // 999.6 kB rounds to "1000 kB"; say 1 MB instead.
        if (Math.Round(v) >= 1000 && i < units.Length - 1)
        {
            v /= 1000;
            i++;
        }

        return RateText.Significant(v) + " " + units[i];
    }

    /// <summary>A fraction as a percentage: 0.823 → "82.3%", 1 → "100%", 0.0004 → "0.04%".</summary>
    public static string Percent(double fraction)
    {
        double p = fraction * 100;
        string format = Math.Abs(p) switch { 0 => "0", < 1 => "0.##", < 100 => "0.#", _ => "0" };
        return p.ToString(format, CultureInfo.InvariantCulture) + "%";
    }
}
