using System.Globalization;

namespace Millisampler.Benchmarks;

/// <summary>What every benchmark needs: its integer and text options and nearest-rank percentiles.</summary>
internal static class BenchArgs
{
    /// <summary>The integer after <paramref name="name"/> in <paramref name="args"/>, or <paramref name="fallback"/> when absent.</summary>
    public static int Int(string[] args, string name, int fallback)
    {
        int i = Array.IndexOf(args, name);
        if (i < 0 || i + 1 >= args.Length)
        {
            return fallback;
        }

        return int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out int v) && v >= 0
            ? v
            : throw new ArgumentException($"{name}: '{args[i + 1]}' must be a whole number ≥ 0");
    }

    /// <summary>The text after <paramref name="name"/> in <paramref name="args"/>, or <paramref name="fallback"/> when absent.</summary>
    public static string String(string[] args, string name, string fallback)
    {
        int i = Array.IndexOf(args, name);
        return i < 0 || i + 1 >= args.Length ? fallback : args[i + 1];
    }

    /// <summary>Nearest-rank percentile (0–100) of <paramref name="values"/>; 0 when there are none.</summary>
    public static double Percentile(IReadOnlyCollection<double> values, double percentile)
    {
        if (values.Count == 0)
        {
            return 0;
        }

        double[] sorted = [.. values.Order()];
        int index = (int)Math.Ceiling(percentile / 100 * sorted.Length) - 1;
        return sorted[Math.Clamp(index, 0, sorted.Length - 1)];
    }
}
