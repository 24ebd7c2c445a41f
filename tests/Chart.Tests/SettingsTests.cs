using System.ComponentModel.DataAnnotations;
using System.Reflection;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Millisampler.Agent.Service;
using Millisampler.Agent.Storage;
using Millisampler.Coordinator.Api;
using Millisampler.Coordinator.Captures;
using Millisampler.Coordinator.Membership;
using Millisampler.Coordinator.Security;
using Millisampler.Coordinator.Storage;
using Millisampler.Coordinator.Sweeps;
using Millisampler.ServiceDefaults.Security;

namespace Millisampler.Chart.Tests;

/// <summary>
/// The settings the chart renders are read by the programs' own options classes, with the configuration binder that
/// refuses unknown keys: a misspelt key, a renamed option or a value of the wrong type fails here, not at a node.
/// (This replaces check.py's reading of the C# source with regular expressions.)
/// </summary>
public sealed class SettingsTests
{
    // Sections below Coordinator:, each bound to its class by the coordinator (ErrorOnUnknownConfiguration).
    private static readonly Dictionary<string, Type> CoordinatorSections = new()
    {
        ["Endpoints"] = typeof(EndpointOptions),
        ["Membership"] = typeof(MembershipOptions),
        ["Captures"] = typeof(CaptureOptions),
        ["Storage"] = typeof(StorageOptions),
        ["Jwt"] = typeof(JwtOptions),
        ["RateLimits"] = typeof(RateLimitOptions),
        ["Sweeps"] = typeof(SweepOptions),
    };

    // What the chart sets on purpose to something else than the program's default, and why.
    private static readonly HashSet<string> ChartChoices =
    [
        "Agent:Rack", "Agent:Listen", "Agent:MetricsListen", "Agent:CoordinatorAddress", "Agent:RunStore:Directory", // per deployment
        "Agent:RequireSynchronizedClock", // restated, equal
        "Coordinator:Endpoints:GrpcUrl", "Coordinator:Endpoints:HttpUrl", // the pod's addresses instead of loopback
        "Coordinator:Membership:CoordinatorId", // stable name instead of the pod name
        "Coordinator:Storage:DatabasePath", // on the claim
        "Security:CertificatePath", "Security:KeyPath", "Security:CaPath", "Security:Insecure", // per tls.mode
    ];

    public static TheoryData<string?> ValuesFiles => new() { null, "several-racks.yaml", "insecure.yaml", "secret.yaml", "helm-certs.yaml" };

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public void RenderedSettings_BindToTheProgramsOptions_WithNoUnknownKey(string? file)
    {
        var objects = file is null ? ChartTools.Render() : ChartTools.Render("-f", ChartTools.ValuesFile(file));
        foreach (JsonElement cm in objects.OfKind("ConfigMap").Where(c => c.Name().Contains("-agent-", StringComparison.Ordinal)))
        {
            IConfiguration config = Configuration(cm.GetProperty("data").Map());
            BindAgent(config, cm.Name());
            BindStrict<SecurityOptions>(config.GetSection(SecurityOptions.SectionName), cm.Name());
        }

        JsonElement coordinator = objects.Single("ConfigMap", "ms-millisampler-coordinator");
        IConfiguration c = Configuration(coordinator.GetProperty("data").Map());
        BindCoordinator(c);
        BindStrict<SecurityOptions>(c.GetSection(SecurityOptions.SectionName), "coordinator");
    }

    [Fact]
    public void AMisspeltSetting_IsCaughtByTheBinder()
    {
        // Ground truth for the check itself: agent.settings passes any key to the agent, which would ignore a typo.
        var objects = ChartTools.Render("--set", "agent.settings.MaxBinz=4000");
        IConfiguration config = Configuration(objects.Single("ConfigMap", "ms-millisampler-agent-r1").GetProperty("data").Map());
        var e = Assert.Throws<InvalidOperationException>(() => BindAgent(config, "r1"));
        Assert.Contains("MaxBinz", e.Message);
    }

    [Fact]
    public void ValuesThatRestateADefault_EqualTheProgramsDefault()
    {
        var objects = ChartTools.Render();
        var agent = Configuration(objects.Single("ConfigMap", "ms-millisampler-agent-r1").GetProperty("data").Map());
        var coordinator = Configuration(objects.Single("ConfigMap", "ms-millisampler-coordinator").GetProperty("data").Map());

        var differences = new List<string>();
        Compare(agent.GetSection("Agent"), "Agent", new AgentOptions(), differences, skip: "RunStore");
        Compare(agent.GetSection("Agent:RunStore"), "Agent:RunStore", new RunStoreOptions(), differences);
        foreach ((string section, Type type) in CoordinatorSections)
        {
            Compare(coordinator.GetSection($"Coordinator:{section}"), $"Coordinator:{section}", Activator.CreateInstance(type)!, differences);
        }

        Assert.True(differences.Count == 0,
            "values.yaml differs from the program's default (change both, or list the key in ChartChoices with the reason):\n  " +
            string.Join("\n  ", differences));
    }

    private static void Compare(IConfigurationSection section, string path, object defaults, List<string> differences, string? skip = null)
    {
        object bound = Activator.CreateInstance(defaults.GetType())!;
        section.Bind(bound);
        foreach (IConfigurationSection child in section.GetChildren().Where(c => c.Key != skip))
        {
            string key = $"{path}:{child.Key}";
            PropertyInfo? p = defaults.GetType().GetProperty(child.Key);
            if (p is null || ChartChoices.Contains(key))
            {
                continue;
            }

            if (child.Value is null)
            {
                if (p.PropertyType.IsClass && p.PropertyType != typeof(string) && !p.PropertyType.IsGenericType)
                {
                    Compare(child, key, p.GetValue(defaults)!, differences);
                }

                continue;
            }

            string expected = JsonSerializer.Serialize(p.GetValue(defaults));
            string actual = JsonSerializer.Serialize(p.GetValue(bound));
            if (expected != actual)
            {
                differences.Add($"{key}: chart {actual}, program {expected}");
            }
        }
    }

    private static IConfiguration Configuration(Dictionary<string, string> env) =>
        new ConfigurationBuilder().AddInMemoryCollection(env.Select(kv =>
            new KeyValuePair<string, string?>(kv.Key.Replace("__", ":", StringComparison.Ordinal), kv.Value))).Build();

    private static void BindAgent(IConfiguration config, string where)
    {
        // RunStore is its own section below Agent (AgentServiceCollectionExtensions.StoreSectionName).
        var withoutStore = new ConfigurationBuilder().AddInMemoryCollection(config.GetSection(AgentOptions.SectionName).AsEnumerable(makePathsRelative: true)
            .Where(kv => kv.Value is not null && !kv.Key.StartsWith(RunStoreOptions.SectionName + ":", StringComparison.Ordinal))
            .Select(kv => new KeyValuePair<string, string?>(kv.Key, kv.Value))).Build();
        BindStrict<AgentOptions>(withoutStore, where);
        BindStrict<RunStoreOptions>(config.GetSection(AgentServiceCollectionExtensions.StoreSectionName), where);
    }

    private static void BindCoordinator(IConfiguration config)
    {
        foreach (IConfigurationSection s in config.GetSection("Coordinator").GetChildren())
        {
            Assert.True(CoordinatorSections.TryGetValue(s.Key, out Type? type), $"Coordinator:{s.Key} is no section of the coordinator");
            object o = Activator.CreateInstance(type)!;
            s.Bind(o, b => b.ErrorOnUnknownConfiguration = true);
            Validate(o, $"Coordinator:{s.Key}");
        }
    }

    private static void BindStrict<T>(IConfiguration section, string where)
        where T : new()
    {
        var o = new T();
        section.Bind(o, b => b.ErrorOnUnknownConfiguration = true);
        Validate(o!, $"{typeof(T).Name} of {where}");
    }

    private static void Validate(object o, string where)
    {
        var results = new List<ValidationResult>();
        Assert.True(Validator.TryValidateObject(o, new ValidationContext(o), results, validateAllProperties: true),
            $"{where}: " + string.Join("; ", results.Select(r => r.ErrorMessage)));
    }
}
