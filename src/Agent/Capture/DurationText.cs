using System.Globalization;

namespace Millisampler.Agent.Capture;

/// <summary>Parses and prints durations as engineers write them: 100us, 1ms, 10ms, 2s.</summary>
public static class DurationText
{
    /// <summary>Parses "100us", "1ms", "1.5s", "250ns" into nanoseconds; false on anything else.</summary>
    public static bool TryParseNs(string? text, out long ns)
    {
        ns = 0;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        text = text.Trim();
        (string suffix, long scale)[] units = [("ns", 1), ("us", 1_000), ("µs", 1_000), ("ms", 1_000_000), ("s", 1_000_000_000)];
        foreach (var (suffix, scale) in units)
        {
            if (!text.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var number = text[..^suffix.Length];
            if (!decimal.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value) || value <= 0)
            {
                return false;
            }

            var total = value * scale;
            if (total > long.MaxValue || total != decimal.Truncate(total))
            {
                return false;
            }

            ns = (long)total;
            return true;
        }
        return false;
    }

    /// <summary>Shortest exact text for a duration: 100us, 1ms, 2s.</summary>
    public static string Format(long ns) => ns switch
    {
        _ when ns % 1_000_000_000 == 0 => $"{ns / 1_000_000_000}s",
        _ when ns % 1_000_000 == 0 => $"{ns / 1_000_000}ms",
        _ when ns % 1_000 == 0 => $"{ns / 1_000}us",
        _ => $"{ns}ns",
    };
}
