using System.Globalization;
using Millisampler.Analysis.Datasets;
using Millisampler.Common.Text;
using Millisampler.Contracts.V1;

namespace Millisampler.Agent.Capture;

/// <summary>Prints a run: JSON in the data-set shape (docs/capture-json.md) or a table for a person.</summary>
internal static class CaptureOutput
{
    public static void WriteJson(Stream stdout, Run run)
    {
        MetaDataset.WriteJson(stdout, MetaDataset.FromRun(run));
        stdout.WriteByte((byte)'\n');
        stdout.Flush();
    }

    public static void WriteTable(TextWriter w, Run run)
    {
        var s = run.Series;
        var inv = CultureInfo.InvariantCulture;
        w.WriteLine(string.Create(inv, $"host {run.Host}  start TAI {run.StartTaiNs} ns  bin {DurationText.Format(run.BinWidthNs)}  bins {run.BinsRecorded}/{run.Bins}  clock error ≤ {(run.ClockAtArm.Synchronized ? $"{run.ClockAtArm.MaxErrorNs} ns" : "unknown (unsynchronized)")}"));
        w.WriteLine("bin      in_bytes    out_bytes  in_pkts out_pkts    in_ce  in_rxmit out_rxmit  in_xreg out_xreg  conns in_c out_c");
        for (int b = 0; b < s.IngressBytes.Count; b++)
        {
            if (s.IngressBytes[b] == 0 && s.EgressBytes[b] == 0)
            {
                continue;
            }

            w.WriteLine(string.Create(inv, $"{b,5} {s.IngressBytes[b],12} {s.EgressBytes[b],12} {s.IngressPackets[b],8} {s.EgressPackets[b],8} {s.IngressCeBytes[b],8} {s.IngressRetransmitBytes[b],9} {s.EgressRetransmitBytes[b],9} {s.IngressCrossRegionBytes[b],8} {s.EgressCrossRegionBytes[b],8} {s.Connections[b],6} {s.IngressConnections[b],4} {s.EgressConnections[b],5}"));
        }
        w.WriteLine(string.Create(inv, $"total in {s.IngressBytes.Aggregate(0UL, (a, v) => a + v)} bytes, out {s.EgressBytes.Aggregate(0UL, (a, v) => a + v)} bytes; empty bins not shown"));
    }
}
