using System.Text.Json;
using System.Text.RegularExpressions;

namespace Millisampler.Chart.Tests;

/// <summary>
/// What rendering cannot show: a template reading a value that does not exist (helm renders it as empty, even with
/// lint --strict), and a value without its comment in values.yaml (the only documentation of the value).
/// </summary>
public sealed partial class ChartSourceTests
{
    private static readonly HashSet<string> FreeForm =
    [
        "racks", "interfaces", "resources", "nodeSelector", "tolerations", "affinity", "seccompProfile", "accessModes",
        "settings", "extraEnv", "podAnnotations", "podLabels", "annotations", "imagePullSecrets", "commonLabels", "labels",
        "issuerRef", "grpcFrom", "httpFrom", "dnsNames", "coordinatorTlsConfig",
    ];

    [Fact]
    public void EveryValuesPathATemplateReads_IsInTheSchema()
    {
        using JsonDocument schema = JsonDocument.Parse(File.ReadAllText(Path.Combine(ChartTools.ChartDir, "values.schema.json")));
        var missing = new List<string>();
        int checkedPaths = 0;
        foreach (string file in Directory.EnumerateFiles(Path.Combine(ChartTools.ChartDir, "templates")))
        {
            string text = File.ReadAllText(file);
            // Variables bound to a values path ($a := .Values.agent), but not `range $x := .Values.list` (one element).
            var aliases = Alias().Matches(text).Where(m => !text[..m.Index].TrimEnd().EndsWith("range", StringComparison.Ordinal))
                .GroupBy(m => m.Groups[1].Value).ToDictionary(g => g.Key, g => g.First().Groups[2].Value.Trim('.').Split('.'));
            var paths = ValuesRef().Matches(text).Select(m => m.Groups[1].Value.Trim('.').Split('.')).ToList();
            foreach ((string name, string[] basePath) in aliases)
            {
                paths.AddRange(Regex.Matches(text, Regex.Escape(name) + @"((?:\.[A-Za-z_]\w*)+)")
                    .Select(m => basePath.Concat(m.Groups[1].Value.Trim('.').Split('.')).ToArray()));
            }

            foreach (string[] path in paths)
            {
                checkedPaths++;
                if (!InSchema(schema.RootElement, path))
                {
                    missing.Add($"{Path.GetFileName(file)}: .Values.{string.Join('.', path)}");
                }
            }
        }

        Assert.True(checkedPaths > 50, $"only {checkedPaths} .Values references found: the pattern no longer matches the templates");
        Assert.True(missing.Count == 0, "templates read values the chart does not have:\n  " + string.Join("\n  ", missing.Distinct()));
    }

    [Fact]
    public void EveryValue_HasACommentAboveIt()
    {
        string[] lines = File.ReadAllLines(Path.Combine(ChartTools.ChartDir, "values.yaml"));
        var stack = new List<(int Indent, string Key)>();
        var bare = new List<string>();
        for (int i = 0; i < lines.Length; i++)
        {
            Match m = KeyLine().Match(lines[i]);
            if (!m.Success || lines[i].TrimStart().StartsWith('#'))
            {
                continue;
            }

            int indent = m.Groups[1].Length + m.Groups[2].Length;
            stack.RemoveAll(s => s.Indent >= indent);
            string key = m.Groups[3].Value;
            string rest = m.Groups[4].Value.Trim();
            bool insideFreeForm = stack.Any(s => FreeForm.Contains(s.Key));
            bool isSection = rest.Length == 0 && !FreeForm.Contains(key);
            stack.Add((indent, key));
            if (insideFreeForm || isSection)
            {
                continue;
            }

            string previous = lines.Take(i).Reverse().FirstOrDefault(l => l.Trim().Length > 0) ?? "";
            if (!previous.TrimStart().StartsWith('#'))
            {
                bare.Add($"line {i + 1}: {key}");
            }
        }

        Assert.True(bare.Count == 0, "values.yaml keys without a comment above them (say what it is, with its unit):\n  " + string.Join("\n  ", bare));
    }

    private static bool InSchema(JsonElement node, IEnumerable<string> path)
    {
        foreach (string part in path)
        {
            if (!node.TryGetProperty("properties", out JsonElement props))
            {
                // A free-form map (settings, labels): any key may follow.
                return node.TryGetProperty("type", out JsonElement t) && t.GetString() == "object";
            }

            if (!props.TryGetProperty(part, out node))
            {
                return false;
            }
        }

        return true;
    }

    [GeneratedRegex(@"(?:\$|\$root|\.root|\$\.root)?\.Values((?:\.[A-Za-z_]\w*)+)")]
    private static partial Regex ValuesRef();

    [GeneratedRegex(@"(\$[A-Za-z_]\w*)\s*:?=\s*\(?\s*(?:\$|\$root|\.root)?\.Values((?:\.[A-Za-z_]\w*)+)")]
    private static partial Regex Alias();

    [GeneratedRegex(@"^(\s*)(-\s+)?([A-Za-z_][\w.-]*):(.*)$")]
    private static partial Regex KeyLine();
}
