using System.IO.Compression;
using System.Net;
using System.Reflection;
using System.Text;

namespace Millisampler.Web;

/// <summary>The bundled capture views (src/Web/src, built by esbuild at build time) and the pages around them.</summary>
public static class WebAssets
{
    private static readonly Lazy<byte[]> ScriptBytes = new(() =>
    {
        using Stream s = typeof(WebAssets).Assembly.GetManifestResourceStream("millisampler-ui.js")
            ?? throw new InvalidOperationException("The web bundle is missing from Millisampler.Web (build src/Web: npm ci, esbuild).");
        using var m = new MemoryStream();
        s.CopyTo(m);
        return m.ToArray();
    });

    /// <summary>The bundle: ECharts and the views, one IIFE script.</summary>
    public static ReadOnlyMemory<byte> Script => ScriptBytes.Value;

    /// <summary>
    /// The coordinator's page: loads the bundle from the same directory; the bundle reads the JSON API. The empty
    /// data: icon keeps the browser from asking for /favicon.ico (a 404 in the console).
    /// </summary>
    public static string IndexHtml { get; } =
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">"
        + "<link rel=\"icon\" href=\"data:,\"><title>Millisampler</title></head><body><div id=\"app\"></div>"
        + "<script src=\"millisampler-ui.js\"></script></body></html>\n";

    /// <summary>
    /// Writes a self-contained report: the bundle and the view JSON (gzip, base64) inline, nothing fetched when opened.
    /// </summary>
    /// <param name="output">Where to write the HTML.</param>
    /// <param name="title">The page title.</param>
    /// <param name="viewJson">The JSON <see cref="Views.CaptureViewJson"/> wrote.</param>
    public static void WriteReport(Stream output, string title, ReadOnlySpan<byte> viewJson)
    {
        ArgumentNullException.ThrowIfNull(output);
        using var gz = new MemoryStream();
        using (var z = new GZipStream(gz, CompressionLevel.SmallestSize, leaveOpen: true))
        {
            z.Write(viewJson);
        }

        using var w = new StreamWriter(output, new UTF8Encoding(false), 1 << 16, leaveOpen: true);
        w.Write("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">");
        w.Write("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:\">");
        w.Write("<title>");
        w.Write(WebUtility.HtmlEncode(title));
        w.Write("</title></head><body><div id=\"app\"></div>\n<script type=\"application/gzip-base64\" id=\"ms-data\">");
        w.Write(Convert.ToBase64String(gz.GetBuffer(), 0, (int)gz.Length));
        w.Write("</script>\n<script>");
        w.Flush();

        // The bundle may not contain "</script" (esbuild escapes it inside strings); checked so a report never breaks.
        ReadOnlySpan<byte> script = Script.Span;
        if (script.IndexOf("</script"u8) >= 0)
        {
            throw new InvalidOperationException("The web bundle contains '</script' and cannot be inlined.");
        }

        w.BaseStream.Write(script);
        w.Write("</script></body></html>\n");
    }
}
