using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Millisampler.Coordinator.Security;
using Millisampler.ServiceDefaults;
using Millisampler.ServiceDefaults.Security;

namespace Millisampler.Coordinator;

/// <summary>Builds and runs the coordinator web host; Program and the in-process tests share it.</summary>
public static partial class CoordinatorApp
{
    /// <summary>Short command-line switches for the settings changed most often.</summary>
    public static readonly IReadOnlyDictionary<string, string> SwitchMappings = new Dictionary<string, string>
    {
        ["--grpc-url"] = "Coordinator:Endpoints:GrpcUrl",
        ["--http-url"] = "Coordinator:Endpoints:HttpUrl",
        ["--metrics-url"] = "Coordinator:Endpoints:MetricsUrl",
        ["--db"] = "Coordinator:Storage:DatabasePath",
        ["--id"] = "Coordinator:Membership:CoordinatorId",
    };

    /// <summary>
    /// The coordinator host: configuration (appsettings.json, environment, command line with
    /// <see cref="SwitchMappings"/>), service defaults, <see cref="CoordinatorServiceCollectionExtensions.AddCoordinator"/>,
    /// /healthz, gRPC and JSON endpoints. <paramref name="configure"/> may replace services (tests).
    /// </summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ApplicationName = typeof(CoordinatorApp).Assembly.GetName().Name,
        });
        builder.Configuration.AddCommandLine(args, (IDictionary<string, string>)SwitchMappings);
        configure?.Invoke(builder);
        builder.AddServiceDefaults();
        builder.Services.AddCoordinator(builder.Configuration);

        WebApplication app = builder.Build();
        SecurityServiceCollectionExtensions.WarnIfInsecure(app.Services, "millisampler-coordinator");
        Api.KestrelEndpoints.UseMetricsPortLimits(app);
        app.MapDefaultEndpoints();
        app.MapCoordinator();
        return app;
    }

    /// <summary>Runs until stopped. Exit code 0; 2 for a bad configuration (every error listed, no stack trace); 1 when it cannot listen.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        try
        {
            await using WebApplication app = Build(args);
            IReadOnlyList<string> invalid = ValidateConfiguration(app.Services);
            if (invalid.Count > 0)
            {
                await Console.Error.WriteLineAsync("millisampler-coordinator: invalid configuration:\n  - " +
                    string.Join("\n  - ", invalid)).ConfigureAwait(false);
                return 2;
            }

            await app.RunAsync().ConfigureAwait(false);
            return 0;
        }
        catch (Exception ex) when (ConfigurationErrors(ex) is { Count: > 0 } errors)
        {
            await Console.Error.WriteLineAsync("millisampler-coordinator: invalid configuration:\n  - " +
                string.Join("\n  - ", errors)).ConfigureAwait(false);
            return 2;
        }
        catch (IOException ex)
        {
            await Console.Error.WriteLineAsync($"millisampler-coordinator: cannot listen: {ex.Message}").ConfigureAwait(false);
            return 1;
        }
    }

    /// <summary>
    /// Binds and validates every coordinator option now, before the host starts (the host would stop at the first
    /// options type that fails, and log a stack trace): one list with every error of every section.
    /// </summary>
    public static IReadOnlyList<string> ValidateConfiguration(IServiceProvider services)
    {
        var errors = new List<string>();
        Check<Membership.MembershipOptions>(services, errors);
        Check<Captures.CaptureOptions>(services, errors);
        Check<Storage.StorageOptions>(services, errors);
        Check<Sweeps.SweepOptions>(services, errors);
        Check<Api.EndpointOptions>(services, errors);
        Check<Api.RateLimitOptions>(services, errors);
        Check<Alerts.AlertOptions>(services, errors);
        Check<JwtOptions>(services, errors);
        errors.AddRange(SecurityErrors(services));
        return errors;

        static void Check<T>(IServiceProvider services, List<string> errors) where T : class
        {
            try
            {
                _ = services.GetRequiredService<IOptions<T>>().Value;
            }
            catch (Exception ex) when (ConfigurationErrors(ex) is { Count: > 0 } found)
            {
                errors.AddRange(found);
            }
        }
    }

    /// <summary>
    /// Secure by default: no certificates (and no Security:Insecure=true) is a configuration error naming the settings;
    /// in secure mode both URLs are https://, in insecure mode http://; the certificate must be a coordinator's.
    /// </summary>
    private static List<string> SecurityErrors(IServiceProvider services)
    {
        SecurityOptions security = services.GetRequiredService<IOptions<SecurityOptions>>().Value;
        var errors = new List<string>(security.Validate());
        try
        {
            errors.AddRange(services.GetRequiredService<IOptions<JwtOptions>>().Value.Validate());
            // Read from configuration: the endpoint check may have failed for another field, and this one is still worth saying.
            var endpoints = new Api.EndpointOptions();
            services.GetRequiredService<IConfiguration>().GetSection(Api.EndpointOptions.SectionName).Bind(endpoints);
            string scheme = security.Insecure ? "http://" : "https://";
            foreach ((string key, string url) in new[]
                     {
                         ($"{Api.EndpointOptions.SectionName}:{nameof(Api.EndpointOptions.GrpcUrl)}", endpoints.EffectiveGrpcUrl(security.Insecure)),
                         ($"{Api.EndpointOptions.SectionName}:{nameof(Api.EndpointOptions.HttpUrl)}", endpoints.EffectiveHttpUrl(security.Insecure)),
                     })
            {
                if (!url.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
                {
                    errors.Add(security.Insecure
                        ? $"{key}: '{url}' must use http:// with {SecurityOptions.SectionName}:{nameof(SecurityOptions.Insecure)}=true."
                        : $"{key}: '{url}' must use https:// (TLS); plaintext needs {SecurityOptions.SectionName}:{nameof(SecurityOptions.Insecure)}=true.");
                }
            }
        }
        catch (Exception e) when (ConfigurationErrors(e).Count > 0)
        {
            // Reported by the option checks.
        }

        if (security.Insecure || errors.Count > 0)
        {
            return errors;
        }

        using CertificateSet set = CertificateSet.Load(security.CertificatePath, security.KeyPath, security.CaPath);
        if (!CertificateIdentity.RolesOf(set.Certificate).Contains(Roles.Coordinator))
        {
            errors.Add($"{SecurityOptions.SectionName}:{nameof(SecurityOptions.CertificatePath)}: '{CertificateIdentity.NameOf(set.Certificate)}' is not a coordinator certificate " +
                $"(needs SAN URI {CertificateIdentity.RoleUriPrefix}{Roles.Coordinator}, OU {Roles.Coordinator}, or CN millisampler-{Roles.Coordinator}); agents refuse any other.");
        }

        return errors;
    }

    /// <summary>"Coordinator:Captures:LeadTimeFloor: The field ... must be between ..." for a data-annotation failure.</summary>
    private static string Describe(Type optionsType, string failure)
    {
        string section = optionsType.GetField("SectionName")?.GetValue(null) as string ?? optionsType.Name;
        Match m = DataAnnotationFailure().Match(failure);
        return m.Success ? $"{section}:{m.Groups["member"].Value}: {m.Groups["error"].Value}" : $"{section}: {failure}";
    }

    [GeneratedRegex("^DataAnnotation validation failed for '[^']*' members: '(?<member>[^']*)' with the error: '(?<error>.*)'\\.$")]
    private static partial Regex DataAnnotationFailure();

    /// <summary>Every configuration error inside <paramref name="ex"/>; empty when it is something else.</summary>
    internal static IReadOnlyList<string> ConfigurationErrors(Exception ex)
    {
        var errors = new List<string>();
        Collect(ex, errors);
        return errors;

        static bool Collect(Exception e, List<string> errors)
        {
            switch (e)
            {
                case OptionsValidationException v:
                    errors.AddRange(v.Failures.Select(f => Describe(v.OptionsType, f)));
                    return true;
                case AggregateException a:
                    bool all = true;
                    foreach (Exception inner in a.InnerExceptions)
                    {
                        all &= Collect(inner, errors);
                    }

                    return all;
                // The configuration binder: a value that does not convert, or a key no option has.
                case InvalidOperationException i when i.Message.Contains("configuration", StringComparison.OrdinalIgnoreCase)
                                                      || i.Message.Contains("ErrorOnUnknownConfiguration", StringComparison.Ordinal):
                    errors.Add(i.InnerException is { } inner2 ? $"{i.Message} ({inner2.Message})" : i.Message);
                    return true;
                default:
                    return false;
            }
        }
    }
}
