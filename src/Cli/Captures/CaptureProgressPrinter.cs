using Millisampler.Cli.Output;
using Millisampler.Cli.Summary;
using Millisampler.Contracts.V1;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Millisampler.Cli.Captures;

/// <summary>
/// Progress of a capture as plain lines: one when the state changes, one per host whose outcome changes. Only
/// changes are printed, so a log of a long wait stays short.
/// </summary>
public sealed class CaptureProgressPrinter(IAnsiConsole console)
{
    private readonly Dictionary<string, (HostOutcomeKind Outcome, string Reason)> _hosts = new(StringComparer.Ordinal);
    private CaptureState? _state;
    private long _startTaiNs;

    /// <summary>Prints what changed since the previous message.</summary>
    public void Show(CaptureProgress p)
    {
        ArgumentNullException.ThrowIfNull(p);
        if (_state != p.State || (p.StartTaiNs != 0 && p.StartTaiNs != _startTaiNs))
        {
            string line = $"capture {p.CaptureId}: {CaptureText.State(p.State)}";
            if (p.StartTaiNs != 0 && p.StartTaiNs != _startTaiNs)
            {
                line += $", bin 0 at {CaptureText.Time(p.StartTaiNs)} TAI";
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

/// <summary>Progress of a capture as one table redrawn in place, for a terminal.</summary>
internal sealed class CaptureProgressTable
{
    private CaptureProgress? _last;

    /// <summary>Remembers the latest progress.</summary>
    public void Update(CaptureProgress p) => _last = p;

    /// <summary>The table for the latest progress.</summary>
    public IRenderable Render(IAnsiConsole console)
    {
        if (_last is null)
        {
            return new Text("waiting for the coordinator...");
        }

        Table table = CliConsole.NewTable(console, "HOST", "OUTCOME", "REASON");
        foreach (HostProgress h in _last.Hosts.OrderBy(h => h.Host, StringComparer.Ordinal))
        {
            table.AddPlainRow(h.Host, CaptureText.Outcome(h.Outcome), h.Reason);
        }

        string title = $"capture {_last.CaptureId}: {CaptureText.State(_last.State)}";
        if (_last.StartTaiNs != 0)
        {
            title += $", bin 0 at {CaptureText.Time(_last.StartTaiNs)} TAI";
        }

        table.Title = new TableTitle(title);
        if (!string.IsNullOrEmpty(_last.Detail))
        {
            table.Caption = new TableTitle(_last.Detail);
        }

        return table;
    }
}
