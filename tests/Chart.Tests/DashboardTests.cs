using System.Text.Json;
using System.Text.RegularExpressions;

namespace Millisampler.Chart.Tests;

/// <summary>The Grafana dashboard: shipped for the sidecar, and built only on metrics the programs export.</summary>
public sealed partial class DashboardTests
{
    private static string DashboardFile => Path.Combine(ChartTools.ChartDir, "dashboards", "millisampler.json");

    [Fact]
    public void Dashboard_IsAConfigMapWithTheSidecarLabel_HoldingTheFile()
    {
        var objects = ChartTools.Render();
        JsonElement cm = objects.Single("ConfigMap", "ms-millisampler-dashboard");
        Assert.Equal("1", cm.GetProperty("metadata").GetProperty("labels").GetProperty("grafana_dashboard").GetString());
        string json = cm.GetProperty("data").GetProperty("millisampler.json").GetString()!;
        Assert.Equal(File.ReadAllText(DashboardFile).Trim(), json.Trim());
        Assert.DoesNotContain(ChartTools.Render("--set", "dashboard.enabled=false").OfKind("ConfigMap"), o => o.Name().EndsWith("-dashboard", StringComparison.Ordinal));
    }

    [Fact]
    public void Dashboard_HasThePanelsAnEngineerLooksFor()
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(DashboardFile));
        var exprs = Panels(doc.RootElement).SelectMany(p => p.Exprs).ToList();
        Assert.Contains(exprs, e => e.Contains("millisampler_coordinator_rack_contention_max", StringComparison.Ordinal));
        Assert.Contains(exprs, e => e.Contains("millisampler_coordinator_hosts", StringComparison.Ordinal) && e.Contains("health", StringComparison.Ordinal));
        Assert.Contains(exprs, e => e.Contains("millisampler_coordinator_host_clock_max_error_seconds", StringComparison.Ordinal));
        Assert.Contains(exprs, e => e.Contains("millisampler_coordinator_captures_ended_total", StringComparison.Ordinal) && e.Contains("outcome", StringComparison.Ordinal));
        // Every panel's grid position is on Grafana's 24-column grid and no two panels overlap.
        var boxes = Panels(doc.RootElement).Select(p => p.Grid).ToList();
        Assert.All(boxes, b => Assert.True(b.X >= 0 && b.X + b.W <= 24, $"panel at x={b.X} w={b.W} leaves the grid"));
        for (int i = 0; i < boxes.Count; i++)
        {
            for (int j = i + 1; j < boxes.Count; j++)
            {
                var (a, b) = (boxes[i], boxes[j]);
                bool overlap = a.X < b.X + b.W && b.X < a.X + a.W && a.Y < b.Y + b.H && b.Y < a.Y + a.H;
                Assert.False(overlap, $"panels {i} and {j} overlap");
            }
        }
    }

    [Fact]
    public void EveryMetricTheDashboardQueries_IsOneTheProgramsExport()
    {
        HashSet<string> exported = ExportedMetricNames();
        Assert.Contains("millisampler_coordinator_captures_ended_total", exported); // the derivation itself is right
        Assert.Contains("millisampler_agent_clock_max_error_seconds", exported);

        using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(DashboardFile));
        var used = Panels(doc.RootElement).SelectMany(p => p.Exprs)
            .Concat(doc.RootElement.GetProperty("templating").GetProperty("list").EnumerateArray()
                .Where(v => v.TryGetProperty("definition", out _)).Select(v => v.GetProperty("definition").GetString()!))
            .SelectMany(e => MetricName().Matches(e).Select(m => m.Value)).ToHashSet();
        Assert.NotEmpty(used);
        var unknown = used.Where(u => !exported.Contains(u)).ToList();
        Assert.True(unknown.Count == 0, "the dashboard queries metrics no program exports: " + string.Join(", ", unknown));
    }

    /// <summary>
    /// Prometheus names of every instrument in src/Agent and src/Coordinator, as OpenTelemetry's Prometheus exporter
    /// writes them: dots to underscores, the unit appended (s → _seconds, By → _bytes; {annotations} dropped),
    /// _total for counters, _bucket/_sum/_count for histograms.
    /// </summary>
    private static HashSet<string> ExportedMetricNames()
    {
        var names = new HashSet<string>();
        foreach (string file in new[] { "Agent", "Coordinator" }.SelectMany(p =>
                     Directory.EnumerateFiles(Path.Combine(ChartTools.RepoRoot, "src", p), "*.cs", SearchOption.AllDirectories))
                     .Where(f => !f.Contains("/obj/", StringComparison.Ordinal)))
        {
            string code = File.ReadAllText(file);
            foreach (Match m in Instrument().Matches(code))
            {
                string kind = m.Groups["kind"].Value;
                string name = m.Groups["name"].Value.Replace('.', '_');
                // The unit is the first string after the name, if it looks like one (else that string is the description).
                string tail = code.Substring(m.Index + m.Length, Math.Min(400, code.Length - m.Index - m.Length));
                Match next = StringLiteral().Match(tail);
                string unit = next.Success && UnitLike().IsMatch(next.Groups[1].Value) ? next.Groups[1].Value : "";
                name += unit switch { "s" => "_seconds", "By" => "_bytes", _ => "" };
                if (kind.Contains("Counter", StringComparison.Ordinal) && !kind.Contains("UpDown", StringComparison.Ordinal))
                {
                    names.Add(name + "_total");
                }
                else if (kind == "Histogram")
                {
                    names.UnionWith([name + "_bucket", name + "_sum", name + "_count"]);
                }
                else
                {
                    names.Add(name);
                }
            }
        }

        return names;
    }

    private sealed record Box(int X, int Y, int W, int H);

    private sealed record Panel(Box Grid, List<string> Exprs);

    private static IEnumerable<Panel> Panels(JsonElement dashboard) =>
        dashboard.GetProperty("panels").EnumerateArray().Select(p =>
        {
            JsonElement g = p.GetProperty("gridPos");
            var exprs = p.TryGetProperty("targets", out JsonElement t)
                ? t.EnumerateArray().Select(x => x.GetProperty("expr").GetString()!).ToList()
                : [];
            return new Panel(new Box(g.GetProperty("x").GetInt32(), g.GetProperty("y").GetInt32(), g.GetProperty("w").GetInt32(), g.GetProperty("h").GetInt32()), exprs);
        });

    [GeneratedRegex(@"Create(?<kind>Counter|Histogram|Gauge|UpDownCounter|ObservableGauge|ObservableCounter|ObservableUpDownCounter)(?:<[^>]+>)?\(\s*""(?<name>millisampler\.[a-z_.]+)""")]
    private static partial Regex Instrument();

    [GeneratedRegex(@"""((?:[^""\\]|\\.)*)""")]
    private static partial Regex StringLiteral();

    [GeneratedRegex(@"^(s|ms|By|1|\{[a-z_]+\})$")]
    private static partial Regex UnitLike();

    [GeneratedRegex(@"millisampler_[a-z_]+")]
    private static partial Regex MetricName();
}
