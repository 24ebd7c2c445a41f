using Millisampler.Agent.Bpf.Native;
using Millisampler.Contracts.V1;

namespace Millisampler.Agent.Sampling;

/// <summary>
/// Accumulates a run's bins as read from the kernel: per-CPU counters summed, sketches turned
/// into estimates. Pure: fed with plain values, it needs no kernel.
/// </summary>
public sealed class RunSeriesReadout
{
    private readonly int _sketchWords;

    internal RunSeriesReadout(int bins, int sketchWords)
    {
        _sketchWords = sketchWords;
        Series = new RunSeries();
        Bins = bins;
        for (int i = 0; i < bins; i++)
        {
            Series.IngressBytes.Add(0);
            Series.EgressBytes.Add(0);
            Series.IngressPackets.Add(0);
            Series.EgressPackets.Add(0);
            Series.IngressCeBytes.Add(0);
            Series.IngressRetransmitBytes.Add(0);
            Series.EgressRetransmitBytes.Add(0);
            Series.IngressCrossRegionBytes.Add(0);
            Series.EgressCrossRegionBytes.Add(0);
            Series.Connections.Add(0);
            Series.IngressConnections.Add(0);
            Series.EgressConnections.Add(0);
        }
    }

    public int Bins { get; }

    /// <summary>The series, one value per bin.</summary>
    public RunSeries Series { get; }

    /// <summary>Bins where any sketch was saturated: their connection values are lower bounds.</summary>
    public int SaturatedSketchBins { get; private set; }

    /// <summary>Bits per direction in each bin's sketch.</summary>
    public int SketchBits => _sketchWords * 64;

    internal void AddBin(int bin, ReadOnlySpan<MsBin> perCpu)
    {
        ulong inB = 0, outB = 0, inP = 0, outP = 0, ce = 0, inRx = 0, outRx = 0, inX = 0, outX = 0;
        foreach (ref readonly var b in perCpu)
        {
            inB += b.InBytes;
            outB += b.OutBytes;
            inP += b.InPackets;
            outP += b.OutPackets;
            ce += b.InCeBytes;
            inRx += b.InRetransmitBytes;
            outRx += b.OutRetransmitBytes;
            inX += b.InCrossRegionBytes;
            outX += b.OutCrossRegionBytes;
        }
        Series.IngressBytes[bin] = inB;
        Series.EgressBytes[bin] = outB;
        Series.IngressPackets[bin] = inP;
        Series.EgressPackets[bin] = outP;
        Series.IngressCeBytes[bin] = ce;
        Series.IngressRetransmitBytes[bin] = inRx;
        Series.EgressRetransmitBytes[bin] = outRx;
        Series.IngressCrossRegionBytes[bin] = inX;
        Series.EgressCrossRegionBytes[bin] = outX;
    }

    /// <summary>Adds a bin's sketches (ingress and egress bitmaps of equal size).</summary>
    public void AddSketch(int bin, ReadOnlySpan<ulong> ingress, ReadOnlySpan<ulong> egress)
    {
        var i = SketchEstimator.Estimate(ingress);
        var e = SketchEstimator.Estimate(egress);
        var u = SketchEstimator.EstimateUnion(ingress, egress);
        Series.IngressConnections[bin] = i.Value;
        Series.EgressConnections[bin] = e.Value;
        Series.Connections[bin] = u.Value;
        if (i.Saturated || e.Saturated || u.Saturated)
        {
            SaturatedSketchBins++;
        }
    }
}
