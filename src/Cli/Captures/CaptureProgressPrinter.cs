using Millisampler.Cli.Output;
using Millisampler.Cli.Summary;
using Millisampler.Common.Text;
using Millisampler.Contracts.V1;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Millisampler.Cli.Captures;

/// <summary>
/// Where a capture is on its bins, by this machine's TAI clock: "bin 812 of 2000 (40%), 1.188s left". The coordinator
/// sends progress only when something changes, so the bins are counted here from the start instant it announced.
/// </summary>
/// <param name="Bins">Bins per host the capture asked for.</param>
/// <param name="BinWidthNs">Bin width, ns.</param>
internal readonly record struct RecordingClock(uint Bins, long BinWidthNs)
{
    /// <summary>Bins elapsed at <paramref name="nowTaiNs"/>, 0 to <see cref="Bins"/>.</summary>
    public uint Elapsed(long startTaiNs, long nowTaiNs) =>
        nowTaiNs <= startTaiNs || BinWidthNs <= 0 ? 0 : (uint)Math.Min(Bins, (nowTaiNs - startTaiNs) / BinWidthNs);

    /// <summary>
    /// "bin 812 of 2000 (40%), 1.188s left", "starts in 300ms, 2.3s left" before bin 0, "all 2000 bins recorded" after
    /// the last; null while the capture has no start instant or is past recording.
    /// </summary>
    public string? Text(CaptureState state, long startTaiNs, long nowTaiNs)
    {
        if (startTaiNs == 0 || Bins == 0 || BinWidthNs <= 0 || state is not (CaptureState.Scheduled or CaptureState.Running))
        {
            return null;
        }

        long end = startTaiNs + (Bins * BinWidthNs);
        if (nowTaiNs < startTaiNs)
        {
            return $"starts in {DurationText.Format(startTaiNs - nowTaiNs)}, {DurationText.Format(end - nowTaiNs)} left";
        }

        if (nowTaiNs >= end)
        {
            return $"all {Bins} bins recorded";
        }

        uint elapsed = Elapsed(startTaiNs, nowTaiNs);
        return $"bin {elapsed} of {Bins} ({SizeText.Percent((double)elapsed / Bins)}), {DurationText.Format(end - nowTaiNs)} left";
    }
}

/// <summary>
/// Progress of a capture as plain lines: one when the state changes, one per host whose outcome changes, and while it
/// records one each time another tenth of its bins has passed. The capture id is printed whole. Only changes are
/// printed, so a log of a long wait stays short.
/// </summary>
public sealed class CaptureProgressPrinter(IAnsiConsole console, uint bins = 0, long binWidthNs = 0)
{
    private readonly Dictionary<string, (HostOutcomeKind Outcome, string Reason)> _hosts = new(StringComparer.Ordinal);
    private readonly RecordingClock _clock = new(bins, binWidthNs);
    private readonly Lock _gate = new();
    private CaptureProgress? _last;
    private CaptureState? _state;
    private long _startTaiNs;
    private int _tenthShown = -1;

    /// <summary>Prints what changed since the previous message; <paramref name="nowTaiNs"/> places it on the bins.</summary>
    public void Show(CaptureProgress p, long nowTaiNs = 0)
    {
        ArgumentNullException.ThrowIfNull(p);
        lock (_gate)
        {
            _last = p;
            if (_state != p.State || (p.StartTaiNs != 0 && p.StartTaiNs != _startTaiNs))
            {
                string line = $"capture {p.CaptureId}: {CaptureText.State(p.State)}";
                if (p.StartTaiNs != 0 && p.StartTaiNs != _startTaiNs)
                {
                    line += $", bin 0 at {CaptureText.Time(p.StartTaiNs)} TAI";
                }

                if (nowTaiNs != 0 && _clock.Text(p.State, p.StartTaiNs, nowTaiNs) is { } at)
                {
                    line += $", {at}";
                    _tenthShown = Tenth(p.StartTaiNs, nowTaiNs);
                }

                if (!string.IsNullOrEmpty(p.Detail))
                {
                    line += $" ({p.Detail})";
                }

                console.Line(line);
                _state = p.State;
                _startTaiNs = p.StartTaiNs;
            }

            foreach (HostProgress h in p.Hosts.OrderBy(h => h.Host, StringComparer.Ordinal))
            {
                if (_hosts.TryGetValue(h.Host, out var seen) && seen.Outcome == h.Outcome && seen.Reason == h.Reason)
                {
                    continue;
                }

                _hosts[h.Host] = (h.Outcome, h.Reason);
                console.Line($"  {h.Host}: {CaptureText.Outcome(h.Outcome)}{(string.IsNullOrEmpty(h.Reason) ? "" : $" ({h.Reason})")}");
            }
        }
    }

    /// <summary>Called as time passes: prints a line when another tenth of the bins has been recorded.</summary>
    public void Tick(long nowTaiNs)
    {
        lock (_gate)
        {
            if (_last is null || _clock.Text(_last.State, _last.StartTaiNs, nowTaiNs) is not { } at)
            {
                return;
            }

            int tenth = Tenth(_last.StartTaiNs, nowTaiNs);
            if (tenth > _tenthShown && nowTaiNs >= _last.StartTaiNs)
            {
                _tenthShown = tenth;
                console.Line($"capture {_last.CaptureId}: {CaptureText.State(_last.State)}, {at}");
            }
        }
    }

    private int Tenth(long startTaiNs, long nowTaiNs) =>
        bins == 0 ? 0 : (int)(_clock.Elapsed(startTaiNs, nowTaiNs) * 10L / bins);
}

/// <summary>Progress of a capture as one table redrawn in place, for a terminal.</summary>
internal sealed class CaptureProgressTable(uint bins = 0, long binWidthNs = 0)
{
    private readonly RecordingClock _clock = new(bins, binWidthNs);
    private CaptureProgress? _last;

    /// <summary>Remembers the latest progress.</summary>
    public void Update(CaptureProgress p) => _last = p;

    /// <summary>
    /// The heading (the whole capture id, state, bins elapsed and time left) above the hosts' table; the heading is
    /// its own line, not the table's title, so a narrow table never cuts the id.
    /// </summary>
    public IRenderable Render(IAnsiConsole console, long nowTaiNs)
    {
        CaptureProgress? last = _last;
        if (last is null)
        {
            return new Text("waiting for the coordinator...");
        }

        var hosts = last.Hosts.OrderBy(h => h.Host, StringComparer.Ordinal).ToList();
        Table table = CliConsole.FittedTable(console, ["HOST", "OUTCOME", "REASON"],
            [.. hosts.Select(h => new[] { h.Host, CaptureText.Outcome(h.Outcome), h.Reason })], 2, out _);

        string title = $"capture {last.CaptureId}: {CaptureText.State(last.State)}";
        if (last.StartTaiNs != 0)
        {
            title += $", bin 0 at {CaptureText.Time(last.StartTaiNs)} TAI";
        }

        if (_clock.Text(last.State, last.StartTaiNs, nowTaiNs) is { } at)
        {
            title += $", {at}";
        }

        var parts = new List<IRenderable> { new Text(title), table };
        if (!string.IsNullOrEmpty(last.Detail))
        {
            parts.Add(new Text(last.Detail));
        }

        return new Rows(parts);
    }
}
