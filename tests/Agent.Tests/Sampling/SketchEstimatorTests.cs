using Millisampler.Agent.Sampling;

namespace Millisampler.Agent.Tests.Sampling;

public sealed class SketchEstimatorTests
{
    [Fact]
    public void Estimate_EmptyBitmap_IsZero()
    {
        Assert.Equal(new SketchEstimate(0, false), SketchEstimator.Estimate(new ulong[64]));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(12)]
    [InlineData(100)]
    [InlineData(1000)]
    [InlineData(2000)]
    [InlineData(10000)]
    public void Estimate_RandomFlowsHashedIntoBits_Within10Percent(int flows)
    {
        // 200 random draws of n flows: every estimate within ±10% (within one flow for small n).
        var rng = new Random(flows);
        for (int trial = 0; trial < 200; trial++)
        {
            var bits = new ulong[64];
            for (int f = 0; f < flows; f++)
            {
                int bit = rng.Next(4096);
                bits[bit >> 6] |= 1UL << (bit & 63);
            }
            var e = SketchEstimator.Estimate(bits);
            Assert.False(e.Saturated);
            Assert.InRange(e.Value, Math.Min(flows * 0.9, flows - 1), Math.Max(flows * 1.1, flows + 1));
        }
    }

    [Fact]
    public void Estimate_FullBitmap_IsSaturatedLowerBound()
    {
        var bits = Enumerable.Repeat(ulong.MaxValue, 64).ToArray();
        var e = SketchEstimator.Estimate(bits);
        Assert.True(e.Saturated);
        Assert.Equal((uint)Math.Round(4096 * Math.Log(4096)), e.Value);
    }

    [Fact]
    public void EstimateUnion_CountsFlowsSeenInEitherDirectionOnce()
    {
        var a = new ulong[64];
        var b = new ulong[64];
        a[0] = 0b0111; // flows 0,1,2 in
        b[0] = 0b1110; // flows 1,2,3 out
        Assert.Equal(4u, SketchEstimator.EstimateUnion(a, b).Value);
    }
}
