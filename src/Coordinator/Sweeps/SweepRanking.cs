using Millisampler.Contracts.V1;

namespace Millisampler.Coordinator.Sweeps;

/// <summary>Fleet rankings from per-rack trend rows (pure).</summary>
internal static class SweepRanking
{
    /// <summary>
    /// Racks by <paramref name="value"/>, highest first. Ties share a rank (1, 1, 3) and are listed by rack name, so
    /// the order depends only on the values, never on the order rows arrived in.
    /// </summary>
    public static IReadOnlyList<RankRow> Rank(IEnumerable<TrendRow> perRack, Func<TrendRow, double> value, int top)
    {
        var sorted = perRack
            .Select(r => (r.Rack, Value: value(r), r.Captures))
            .OrderByDescending(r => r.Value)
            .ThenBy(r => r.Rack, StringComparer.Ordinal)
            .ToList();
        var rows = new List<RankRow>();
        for (int i = 0; i < sorted.Count && rows.Count < top; i++)
        {
            uint rank = i > 0 && sorted[i].Value == sorted[i - 1].Value ? rows[^1].Rank : (uint)(i + 1);
            rows.Add(new RankRow { Rank = rank, Rack = sorted[i].Rack, Value = sorted[i].Value, Captures = sorted[i].Captures });
        }

        return rows;
    }
}
