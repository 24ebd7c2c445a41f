using Millisampler.Contracts.V1;

namespace Millisampler.Agent.Sampling;

/// <summary>A run to record.</summary>
public sealed record RunRequest(string RunId, long StartTaiNs, long BinWidthNs, uint Bins, RunOrigin Origin)
{
    /// <summary>TAI instant right after the last bin, ns.</summary>
    public long EndTaiNs => StartTaiNs + BinWidthNs * Bins;

    /// <summary>A record of this run on <paramref name="host"/>: what was asked and where; outcome and series still to fill.</summary>
    public Run NewRecord(HostIdentity host)
    {
        var run = new Run
        {
            RunId = RunId,
            Host = host.Host,
            Rack = host.Rack,
            Origin = Origin,
            StartTaiNs = StartTaiNs,
            BinWidthNs = BinWidthNs,
            Bins = Bins,
        };
        run.Interfaces.AddRange(host.Interfaces);
        return run;
    }
}
