using Millisampler.Common.Text;

namespace Millisampler.Agent.Schedule;

/// <summary>
/// The continuous schedule, as Meta runs Millisampler in production: every <see cref="Period"/> (plus a
/// random jitter, so the hosts of a fleet do not all sample at once) one run of each bin width, one after another.
/// </summary>
public sealed class ScheduleOptions
{
    /// <summary>Run the continuous schedule. Default true.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Time between cycles (nominal starts are exactly this far apart). Default 5 min.</summary>
    public TimeSpan Period { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Each cycle starts a uniformly random delay in [0, Jitter) after its nominal instant; less than <see cref="Period"/>. Default 1 min.</summary>
    public TimeSpan Jitter { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Bin widths of one cycle's runs, in order, comma-separated durations. Default "10ms,1ms,100us".</summary>
    public string BinWidths { get; set; } = "10ms,1ms,100us";

    /// <summary>Bins per run. Default 2,000 (runs of 20 s, 2 s and 200 ms).</summary>
    public uint Bins { get; set; } = 2000;

    /// <summary>A local run starts this long after it is planned, aligned up to a multiple of its bin width. Default 100 ms.</summary>
    public TimeSpan StartLead { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary><see cref="BinWidths"/> parsed, ns; empty when any item does not parse (the validator says which).</summary>
    public IReadOnlyList<long> BinWidthsNs
    {
        get
        {
            var widths = new List<long>();
            foreach (var item in BinWidths.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (!DurationText.TryParseNs(item, out long ns))
                {
                    return [];
                }

                widths.Add(ns);
            }
            return widths;
        }
    }
}
