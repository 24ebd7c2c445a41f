using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Sweeps;

namespace Millisampler.Coordinator.Tests.Sweeps;

public sealed class SweepRankingTests
{
    private static TrendRow Row(string rack, double share) => new() { Rack = rack, ContendedBinShare = share, Captures = 1 };

    [Fact]
    public void Rank_Ties_ShareARankListedByName_IndependentOfInputOrder()
    {
        TrendRow[] rows = [Row("r-c", 0.5), Row("r-a", 0.25), Row("r-b", 0.5), Row("r-d", 0.75), Row("r-e", 0.25)];

        IReadOnlyList<RankRow> ranked = SweepRanking.Rank(rows, r => r.ContendedBinShare, 10);

        Assert.Equal([(1u, "r-d"), (2u, "r-b"), (2u, "r-c"), (4u, "r-a"), (4u, "r-e")], ranked.Select(r => (r.Rank, r.Rack)));
        for (int seed = 0; seed < 20; seed++)
        {
            var random = new Random(seed);
            TrendRow[] shuffled = [.. rows.OrderBy(_ => random.Next())];
            Assert.Equal(ranked, SweepRanking.Rank(shuffled, r => r.ContendedBinShare, 10));
        }
    }

    [Fact]
    public void Rank_Top_CutsAfterN()
    {
        TrendRow[] rows = [Row("a", 3), Row("b", 2), Row("c", 1)];
        Assert.Equal(["a", "b"], SweepRanking.Rank(rows, r => r.ContendedBinShare, 2).Select(r => r.Rack));
    }
}
