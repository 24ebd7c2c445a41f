using System.Text.Json;
using OpenQA.Selenium;
using OpenQA.Selenium.Interactions;

namespace Millisampler.Web.Tests.Infrastructure;

/// <summary>
/// The capture view of <see cref="PlantedRack"/> as drawn in the browser, checked against the planted numbers: the same
/// checks for the report file and the coordinator's /ui/.
/// </summary>
public sealed class CapturePage(HeadlessChromium browser)
{
    // What the chart shows at the centre of each [host, bin] cell: ECharts draws on stacked canvases (layers), so their
    // pixels are composited in DOM order over the page's white, as the screen shows them. [r, g, b], or null.
    private const string PixelsScript = """
        ((cells) => {
          const box = document.getElementById('ms-chart');
          const br = box.getBoundingClientRect();
          const layers = Array.from(box.querySelectorAll('canvas')).map((c) => {
            const r = c.getBoundingClientRect();
            return { c, r, ctx: c.getContext('2d'), sx: c.width / r.width, sy: c.height / r.height };
          });
          return cells.map(([host, bin]) => {
            const p = window.__ms.cellCenter(host, bin);
            if (!p) { return null; }
            let rgb = [255, 255, 255];
            for (const l of layers) {
              const x = Math.round((p[0] + br.left - l.r.left) * l.sx);
              const y = Math.round((p[1] + br.top - l.r.top) * l.sy);
              const d = l.ctx.getImageData(x, y, 1, 1).data;
              const a = d[3] / 255;
              rgb = rgb.map((v, i) => Math.round(d[i] * a + v * (1 - a)));
            }
            return rgb;
          });
        })(arguments[0])
        """;

    public HeadlessChromium Browser { get; } = browser;

    /// <summary>
    /// The heatmap and the timeline are drawn on canvases of non-zero size inside the chart box, the view lists the
    /// hosts with data, and neither the page (window errors, CSP violations) nor the console reported an error.
    /// </summary>
    /// <param name="expectedConsoleErrors">Console errors the page is expected to log (matched by substring).</param>
    public void AssertDrawnWithoutErrors(params string[] expectedConsoleErrors)
    {
        JsonElement canvases = Browser.Eval("Array.from(document.querySelectorAll('#ms-chart canvas')).map(c => [c.width, c.height, c.clientWidth, c.clientHeight])");
        Assert.NotEmpty(canvases.EnumerateArray());
        foreach (JsonElement c in canvases.EnumerateArray())
        {
            Assert.All(c.EnumerateArray(), v => Assert.True(v.GetInt32() > 100, $"canvas size {c}: every side should be > 100 px"));
        }

        Assert.Equal(PlantedRack.Hosts, Browser.Eval("window.__ms.hosts").EnumerateArray().Select(h => h.GetString()));
        Assert.Equal(PlantedRack.Bins, Browser.Eval("window.__ms.bins").GetInt32());
        Assert.Empty(Browser.Eval("window.__ms.errors").EnumerateArray());
        AssertNoConsoleErrors(expectedConsoleErrors);
    }

    /// <summary>No console entry at SEVERE (errors, CSP refusals) except the expected ones.</summary>
    public void AssertNoConsoleErrors(params string[] expected)
    {
        var severe = Browser.ConsoleMessages().Where(m => m.Level == LogLevel.Severe)
            .Where(m => !expected.Any(e => m.Message.Contains(e, StringComparison.Ordinal))).Select(m => m.Message).ToList();
        Assert.True(severe.Count == 0, "console errors: " + string.Join(" | ", severe));
    }

    /// <summary>
    /// The drawn pixel of each planted burst cell is a burst colour (red over blue) and of each other cell a calm one
    /// (blue at least red), for every host over the bins around the planted bursts, the stall and quiet stretches.
    /// </summary>
    public void AssertHotCellsAtPlantedHostsAndBins()
    {
        int[] bins = [0, 59, 60, 61, 62, 150, 199, 200, 202, 204, 205, 299, 305, 399];
        var cells = PlantedRack.Hosts.SelectMany(h => bins.Select(b => (Host: h, Bin: b))).ToList();
        JsonElement pixels = Browser.Eval(PixelsScript, cells.Select(c => new object[] { c.Host, c.Bin }).ToList());
        var wrong = new List<string>();
        int i = 0;
        foreach (JsonElement p in pixels.EnumerateArray())
        {
            (string host, int bin) = cells[i++];
            Assert.Equal(JsonValueKind.Array, p.ValueKind);
            int[] rgb = [.. p.EnumerateArray().Select(v => v.GetInt32())];
            bool hot = rgb[0] - rgb[2] > 100;
            if (hot != PlantedRack.IsBurst(host, bin))
            {
                wrong.Add($"{host} bin {bin}: rgb({string.Join(",", rgb)}) drawn {(hot ? "hot" : "calm")}");
            }
        }

        Assert.True(wrong.Count == 0, "heatmap cells drawn wrong: " + string.Join("; ", wrong));

        // The view's own list of cells at or above θ = 50% agrees, cell for cell.
        var hotCells = Browser.Eval("window.__ms.hotCells(0.5)").EnumerateArray()
            .Select(c => (c[0].GetString()!, c[1].GetInt32())).OrderBy(c => c).ToList();
        var planted = PlantedRack.Hosts.SelectMany(h => Enumerable.Range(0, PlantedRack.Bins).Where(b => PlantedRack.IsBurst(h, b)).Select(b => (h, b)))
            .OrderBy(c => c).ToList();
        Assert.Equal(planted, hotCells);
    }

    /// <summary>
    /// The values the heatmap image is coloured from equal the planted ingress over line rate, for every host and bin
    /// (one column per bin at 400 bins).
    /// </summary>
    public void AssertHeatmapValuesEqualPlantedIngress()
    {
        var cells = PlantedRack.Hosts.SelectMany(h => Enumerable.Range(0, PlantedRack.Bins).Select(b => (Host: h, Bin: b))).ToList();
        JsonElement values = Browser.Eval(
            "arguments[0].map(([h, b]) => window.__ms.cellValue(h, b))",
            cells.Select(c => new object[] { c.Host, c.Bin }).ToList());
        double lineRateBytes = PlantedRack.LinkSpeed * PlantedRack.BinWidthNs / 8e9;
        var wrong = new List<string>();
        int i = 0;
        foreach (JsonElement v in values.EnumerateArray())
        {
            (string host, int bin) = cells[i++];
            double expected = PlantedRack.Ingress(host)[bin] / lineRateBytes;
            if (Math.Abs(v.GetDouble() - expected) > 1e-6)
            {
                wrong.Add($"{host} bin {bin}: {v.GetDouble()} for {expected}");
            }
        }

        Assert.True(wrong.Count == 0, "heatmap values wrong: " + string.Join("; ", wrong.Take(20)));
    }

    /// <summary>
    /// With the chart narrowed to 330 px, the 400 bins share about 110 pixel columns: the view says so, every planted
    /// burst bin is still drawn hot (a pixel shows the maximum of its bins, so the two-bin lone burst does not fall
    /// between pixels), bins far from the bursts stay calm, and the tooltip over the lone burst names the merged bins and
    /// their maximum (95%).
    /// </summary>
    public void AssertNarrowHeatmapKeepsEveryBurst()
    {
        Browser.Eval("(() => { document.getElementById('ms-chart').style.width = '330px'; window.dispatchEvent(new Event('resize')); return 0; })()");
        Browser.WaitUntil(() => Browser.Eval("window.__ms.heatmapImage.maxBinsPerPixel").GetInt32() > 1, "the heatmap to redraw narrower");
        int merged = Browser.Eval("window.__ms.heatmapImage.maxBinsPerPixel").GetInt32();
        Assert.InRange(merged, 3, 6);
        Assert.Contains($"merges up to {merged} bins per pixel column", Browser.Eval("document.getElementById('ms-pixel-note').innerText").GetString());

        var cells = PlantedRack.Hosts.SelectMany(h => Enumerable.Range(0, PlantedRack.Bins)
            .Where(b => PlantedRack.IsBurst(h, b) || b is 0 or 30 or 150 or 250 or 399).Select(b => (Host: h, Bin: b))).ToList();
        JsonElement pixels = Browser.Eval(PixelsScript, cells.Select(c => new object[] { c.Host, c.Bin }).ToList());
        var wrong = new List<string>();
        int i = 0;
        foreach (JsonElement p in pixels.EnumerateArray())
        {
            (string host, int bin) = cells[i++];
            int[] rgb = [.. p.EnumerateArray().Select(v => v.GetInt32())];
            bool hot = rgb[0] - rgb[2] > 100;
            if (hot != PlantedRack.IsBurst(host, bin))
            {
                wrong.Add($"{host} bin {bin}: rgb({string.Join(",", rgb)}) drawn {(hot ? "hot" : "calm")}");
            }
        }

        Assert.True(wrong.Count == 0, "narrow heatmap drawn wrong: " + string.Join("; ", wrong));

        string tip = Hover(PlantedRack.LoneHost, PlantedRack.LoneBurstStart);
        Assert.Contains(PlantedRack.LoneHost, tip);
        Assert.Matches(@"bins \d+–\d+", tip);
        Assert.Contains("maximum 95% of line rate", tip);
    }

    /// <summary>Moves the pointer onto the centre of the cell of <paramref name="host"/> at <paramref name="bin"/> and returns the heatmap tooltip's text.</summary>
    private string Hover(string host, int bin)
    {
        IWebElement chart = Browser.Driver.FindElement(By.Id("ms-chart"));
        Browser.Driver.ExecuteScript("arguments[0].scrollIntoView({block: 'start'});", chart);
        JsonElement p = Browser.Eval("window.__ms.cellCenter(arguments[0], arguments[1])", host, bin);
        JsonElement box = Browser.Eval("(() => { const r = document.getElementById('ms-chart').getBoundingClientRect(); return [r.width, r.height]; })()");
        // W3C actions: the offset is from the element's centre.
        int dx = (int)Math.Round(p[0].GetDouble() - (box[0].GetDouble() / 2));
        int dy = (int)Math.Round(p[1].GetDouble() - (box[1].GetDouble() / 2));
        new Actions(Browser.Driver).MoveToElement(chart, dx, dy).Perform();
        string tip = "";
        Browser.WaitUntil(() =>
        {
            tip = Browser.Eval("Array.from(document.querySelectorAll('#ms-chart div')).map(d => d.innerText).filter(t => t.includes('line rate')).join('\\n')").GetString() ?? "";
            return tip.Contains(host, StringComparison.Ordinal);
        }, "the heatmap tooltip");
        return tip;
    }

    /// <summary>Hovering the cell of host-07 at bin 202 shows its host, bin and utilization (1,125,000 B of 1,250,000 B = 90%).</summary>
    public void AssertTooltipOverPlantedCell()
    {
        string tip = Hover("host-07", 202);
        Assert.Contains("host-07", tip);
        Assert.Contains("bin 202 (+202 ms)", tip);
        Assert.Contains("90% of line rate", tip);
        Assert.DoesNotContain("maximum", tip);
    }

    /// <summary>The event table's one row holds the planted event's numbers, and the stall table the planted stall.</summary>
    public void AssertTablesShowPlantedNumbers()
    {
        string[][] events = Rows("#ms-events");
        string[] e = Assert.Single(events);
        // #, start, length, hosts, bytes (3 hosts × 5 bins × 1,125,000 B = 16,875,000 B), CE (10,000 B), retx (5,000 B),
        // peak rack ingress (3 × 1,125,000 + 9 × 125,000 = 4,500,000 B per ms = 36 Gbit/s, of 12 × 10 Gbit/s), peak c.
        Assert.Equal(["0", "+200 ms", "5 ms", "host-03, host-07, host-11", "16.9 MB", "10.0 KB", "5.00 KB", "36.0 Gbit/s of 120 Gbit/s", "3"], e);

        string[] stall = Assert.Single(Rows("#ms-stalls"));
        // host, start, length, ingress around (125,000 B per bin), egress during (10 bins × 40,000 B).
        Assert.Equal(["host-09", "+300 ms", "10 ms", "125.0 KB", "400.0 KB"], stall);
    }

    /// <summary>
    /// The host table shows each host's own clock error beside the coordinator's measured offset ± bound (to the
    /// microsecond, the bound rounded up) and flags <see cref="PlantedRack.OffCentreHost"/>; the refused host has none.
    /// </summary>
    public void AssertHostTableShowsMeasuredOffsets()
    {
        string[][] rows = Rows("#ms-hosts");
        Assert.Equal([.. PlantedRack.Hosts, PlantedRack.RefusedHost], rows.Select(r => r[0]));
        // host-01: (1 − 6) × 10 µs + 123 ns = −49.877 µs → −50 µs; bound 250.4 µs → 251 µs.
        Assert.Equal(["host-01", "collected", "400/400", "10.0 Gbit/s", "20 µs", "-50 µs ± 251 µs", "ok"], rows[0]);
        Assert.Equal(["host-06", "collected", "400/400", "10.0 Gbit/s", "20 µs", "0 ± 251 µs", "ok"], rows[5]);
        Assert.Equal(["host-07", "collected", "400/400", "10.0 Gbit/s", "20 µs", "+10 µs ± 251 µs", "ok"], rows[6]);
        Assert.Equal(["host-12", "collected", "400/400", "10.0 Gbit/s", "20 µs", "+100.012 ms ± 1.2 ms", "ok, offset > half a bin"], rows[11]);
        Assert.Equal(["host-13", "refused", "0/400", "-", "-", "-", "-"], rows[12]);
        string warning = Browser.Eval("document.getElementById('ms-offset-warning').innerText").GetString() ?? "";
        Assert.StartsWith("1 host(s) whose clock the coordinator measured more than half a bin (500 µs) off", warning);
        Assert.EndsWith(": host-12. Their bins may sit one bin off whatever their own clock error says.", warning);
    }

    /// <summary>
    /// The contention-levels table counts bins by the hosts bursting in them and bursts by the other hosts they met, and
    /// its headers say so: the three event hosts bursting together for 5 bins are 5 bins at level 3 and 3 bursts at
    /// level 2 (one with CE: host-07's, one with retransmits: host-11's); host-05's lone 2-bin burst is 2 bins at level
    /// 1 and one burst at level 0; the other 393 bins have no host bursting.
    /// </summary>
    public void AssertContentionLevelsReadAsDocumented()
    {
        string[] headers = [.. Browser.Eval("Array.from(document.querySelectorAll('#ms-levels thead th')).map(c => c.innerText.trim())")
            .EnumerateArray().Select(c => c.GetString() ?? "")];
        Assert.Equal(["level", "bins with c[b] = level", "bursts that met level others"], headers[..3]);
        string[][] rows = Rows("#ms-levels");
        Assert.Equal(["0", "1", "2", "3"], rows.Select(r => r[0]));
        Assert.Equal([PlantedRack.Bins - PlantedRack.EventBins - PlantedRack.LoneBurstBins, PlantedRack.LoneBurstBins, 0, PlantedRack.EventBins],
            rows.Select(r => int.Parse(r[1], System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(["1", "0", "3", "0"], rows.Select(r => r[2]));
        Assert.Equal(["1 (33%)", "1 (33%)"], rows[2][3..5]);
    }

    /// <summary>Clicking the planted event's row zooms both charts onto bins 200..204 (with a margin).</summary>
    public void AssertClickOnEventZoomsToIt()
    {
        JsonElement before = Browser.Eval("window.__ms.zoom()");
        Assert.Equal(0, before.GetProperty("startBin").GetInt32());
        Assert.Equal(PlantedRack.Bins - 1, before.GetProperty("endBin").GetInt32());

        IWebElement row = Browser.Driver.FindElement(By.CssSelector("#ms-events tbody tr"));
        Browser.Driver.ExecuteScript("arguments[0].scrollIntoView({block: 'center'});", row);
        row.Click();
        AssertZoomedOntoEvent();
    }

    /// <summary>Clicking the event's shading on the c[b] timeline (a canvas click at bin 202) zooms onto bins 200..204.</summary>
    public void AssertClickOnEventInTimelineZoomsToIt()
    {
        IWebElement chart = Browser.Driver.FindElement(By.Id("ms-chart"));
        Browser.Driver.ExecuteScript("arguments[0].scrollIntoView({block: 'start'});", chart);
        JsonElement p = Browser.Eval("window.__ms.timelinePoint(202, 0.5)");
        JsonElement box = Browser.Eval("(() => { const r = document.getElementById('ms-chart').getBoundingClientRect(); return [r.width, r.height]; })()");
        int dx = (int)Math.Round(p[0].GetDouble() - (box[0].GetDouble() / 2));
        int dy = (int)Math.Round(p[1].GetDouble() - (box[1].GetDouble() / 2));
        new Actions(Browser.Driver).MoveToElement(chart, dx, dy).Click().Perform();
        AssertZoomedOntoEvent();
    }

    private void AssertZoomedOntoEvent()
    {
        Browser.WaitUntil(() => Browser.Eval("window.__ms.zoom()").GetProperty("endBin").GetInt32() < PlantedRack.Bins - 1, "the zoom to change");
        JsonElement z = Browser.Eval("window.__ms.zoom()");
        int start = z.GetProperty("startBin").GetInt32();
        int end = z.GetProperty("endBin").GetInt32();
        Assert.InRange(start, 150, PlantedRack.EventStart);
        Assert.InRange(end, PlantedRack.EventStart + PlantedRack.EventBins - 1, 250);
    }

    /// <summary>The text of each body row of the table <paramref name="selector"/>.</summary>
    public string[][] Rows(string selector) =>
        [.. Browser.Eval($"Array.from(document.querySelectorAll('{selector} tbody tr')).map(r => Array.from(r.cells).map(c => c.innerText.trim()))")
            .EnumerateArray().Select(r => r.EnumerateArray().Select(c => c.GetString() ?? "").ToArray())];
}
