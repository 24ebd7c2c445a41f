using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Millisampler.Agent.Bpf;
using Millisampler.Agent.Sampling;
using Millisampler.Agent.Schedule;
using Millisampler.Agent.Storage;
using Millisampler.ServiceDefaults;
using Millisampler.ServiceDefaults.Security;

namespace Millisampler.Agent.Service;

/// <summary>Builds and runs the agent web host (<c>millisampler-agent serve</c>); the serve command and the in-process tests share it.</summary>
public static class AgentApp
{
    /// <summary>Exit code for a configuration error (every error listed, no stack trace).</summary>
    public const int ExitBadConfiguration = 2;

    /// <summary>Exit code when the eBPF programs cannot be loaded or attached.</summary>
    public const int ExitKernel = 3;

    /// <summary>Exit code when the server cannot listen.</summary>
    public const int ExitCannotListen = 1;

    /// <summary>
    /// The agent host: configuration (appsettings.json, MILLISAMPLER_-less environment, command line such as
    /// <c>--Agent:Interfaces:0=eth0</c>), service defaults, <see cref="AgentServiceCollectionExtensions.AddAgent"/>,
    /// gRPC over h2c on <c>--urls</c> or <c>Agent:Listen</c>,
    /// /metrics, /healthz and /readyz over HTTP/1.1 on <c>Agent:MetricsListen</c>. <paramref name="configure"/> may replace services (tests).
    /// </summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ApplicationName = typeof(AgentApp).Assembly.GetName().Name,
        });
        configure?.Invoke(builder);
        SecurityOptions security = builder.Configuration.ReadSecurityOptions();
        string listenKey = builder.Configuration["urls"] is { Length: > 0 } ? "urls" : $"{AgentOptions.SectionName}:{nameof(AgentOptions.Listen)}";
        string listen = builder.Configuration[listenKey] is { Length: > 0 } configured ? configured : AgentOptions.DefaultListen(security.Insecure);
        string metrics = builder.Configuration[$"{AgentOptions.SectionName}:{nameof(AgentOptions.MetricsListen)}"] ?? new AgentOptions().MetricsListen;
        builder.Services.AddSingleton(new ListenSetting(listenKey, listen));
        // The endpoints are bound below; --urls is only read here, so Kestrel does not warn that it overrides it.
        builder.WebHost.UseSetting(WebHostDefaults.ServerUrlsKey, "");
        builder.WebHost.ConfigureKestrel(k =>
        {
            // gRPC is bound first: it is the agent's address.
            if (security.Insecure)
            {
                // gRPC without TLS needs HTTP/2 with prior knowledge; a cleartext endpoint cannot also offer HTTP/1.1.
                if (!AgentOptionsValidator.ListenErrors("listen", listen).Any())
                {
                    KestrelListen.Listen(k, listen, HttpProtocols.Http2);
                }
            }
            else
            {
                // Mutual TLS: only a client with a coordinator certificate from the configured CA completes the handshake.
                TlsCertificates certificates = k.ApplicationServices.GetRequiredService<TlsCertificates>();
                foreach (string one in listen.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    // A URL Kestrel cannot bind is reported by ValidateConfiguration with every other error.
                    if (!TryParse(one, out BindingAddress? address))
                    {
                        continue;
                    }

                    KestrelListen.Bind(k, address, l =>
                    {
                        l.Protocols = HttpProtocols.Http2;
                        l.UseMutualTls(certificates, requireClientCertificate: true, MutualTls.RequireRole(Roles.Coordinator));
                    });
                }
            }

            // Prometheus and the kubelet's HTTP probes get a plain HTTP/1.1 port of their own (loopback by default).
            if (!string.IsNullOrWhiteSpace(metrics) && !AgentOptionsValidator.ListenErrors("metrics", metrics).Any())
            {
                KestrelListen.Listen(k, metrics, HttpProtocols.Http1);
            }
        });

        builder.Services.AddTransportSecurity(builder.Configuration);
        builder.AddServiceDefaults();
        builder.Services.AddAgent(builder.Configuration);

        var app = builder.Build();
        SecurityServiceCollectionExtensions.WarnIfInsecure(app.Services, "millisampler-agent");
        app.MapDefaultEndpoints();
        app.MapAgent();
        return app;
    }

    /// <summary>Runs until SIGTERM/SIGINT; returns the process exit code.</summary>
    public static async Task<int> RunAsync(string[] args)
    {
        try
        {
            await using var app = Build(args);
            // Before the host starts: it constructs hosted services (which open the store and the sampler) before its
            // own ValidateOnStart check runs, and logs a failure with a stack trace.
            var errors = ValidateConfiguration(app.Services);
            if (errors.Count > 0)
            {
                await Console.Error.WriteLineAsync("millisampler-agent: invalid configuration:\n  - " + string.Join("\n  - ", errors)).ConfigureAwait(false);
                return ExitBadConfiguration;
            }
            // Load and attach now, so a kernel that refuses the programs gets one clear message too.
            _ = app.Services.GetRequiredService<IRunEngine>();
            await app.RunAsync().ConfigureAwait(false);
            return 0;
        }
        catch (Exception e) when (ConfigurationErrors(e) is { Count: > 0 } errors)
        {
            await Console.Error.WriteLineAsync("millisampler-agent: invalid configuration:\n  - " + string.Join("\n  - ", errors)).ConfigureAwait(false);
            return ExitBadConfiguration;
        }
        catch (Exception e) when (Find<BpfException>(e) is { } bpf)
        {
            await Console.Error.WriteLineAsync($"millisampler-agent: cannot load or attach the sampler: {bpf.Message}" +
                (bpf.KernelLog.Length > 0 ? "\n" + bpf.KernelLog : "")).ConfigureAwait(false);
            return ExitKernel;
        }
        catch (Exception e) when (Find<IOException>(e) is { } io)
        {
            await Console.Error.WriteLineAsync($"millisampler-agent: cannot start: {io.Message}").ConfigureAwait(false);
            return ExitCannotListen;
        }
    }

    /// <summary>Binds and validates every options type the agent reads; all errors, empty when the configuration is fine.</summary>
    internal static IReadOnlyList<string> ValidateConfiguration(IServiceProvider services)
    {
        var errors = new List<string>();
        Check(() => services.GetRequiredService<IOptions<AgentOptions>>().Value);
        Check(() => services.GetRequiredService<IOptions<RunStoreOptions>>().Value);
        errors.AddRange(SecurityErrors(services));
        return errors;

        void Check(Func<object> read)
        {
            try
            {
                read();
            }
            catch (Exception e) when (ConfigurationErrors(e) is { Count: > 0 } found)
            {
                errors.AddRange(found);
            }
        }
    }

    /// <summary>
    /// Secure by default: without certificates (and without Security:Insecure=true) the agent does not start. In secure
    /// mode the listen URLs must be https://, and the certificate must be an agent's naming Agent:Host, since the
    /// coordinator accepts a registration only for a host its certificate names.
    /// </summary>
    private static IEnumerable<string> SecurityErrors(IServiceProvider services)
    {
        SecurityOptions security = services.GetRequiredService<IOptions<SecurityOptions>>().Value;
        var errors = new List<string>(security.Validate());
        (string listenKey, string listen) = services.GetRequiredService<ListenSetting>();
        string scheme = security.Insecure ? "http" : "https";
        foreach (string one in listen.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!one.StartsWith(scheme + "://", StringComparison.OrdinalIgnoreCase))
            {
                errors.Add(security.Insecure
                    ? $"{listenKey}: '{one}' must use http:// with {SecurityOptions.SectionName}:{nameof(SecurityOptions.Insecure)}=true."
                    : $"{listenKey}: '{one}' must use https:// (mutual TLS); plaintext needs {SecurityOptions.SectionName}:{nameof(SecurityOptions.Insecure)}=true.");
            }
        }

        if (security.Insecure || errors.Count > 0)
        {
            return errors;
        }

        AgentOptions agent;
        try
        {
            agent = services.GetRequiredService<IOptions<AgentOptions>>().Value;
        }
        catch (OptionsValidationException)
        {
            return errors;
        }

        using CertificateSet set = CertificateSet.Load(security.CertificatePath, security.KeyPath, security.CaPath);
        var cert = set.Certificate;
        if (!CertificateIdentity.RolesOf(cert).Contains(Roles.Agent))
        {
            errors.Add($"{SecurityOptions.SectionName}:{nameof(SecurityOptions.CertificatePath)}: '{CertificateIdentity.NameOf(cert)}' is not an agent certificate " +
                $"(needs SAN URI {CertificateIdentity.RoleUriPrefix}{Roles.Agent}, OU {Roles.Agent}, or CN millisampler-{Roles.Agent}).");
        }

        if (!CertificateIdentity.Names(cert, agent.Host))
        {
            var names = CertificateIdentity.DnsNamesOf(cert);
            errors.Add($"{SecurityOptions.SectionName}:{nameof(SecurityOptions.CertificatePath)}: the certificate names " +
                $"{(names.Count == 0 ? "no host (no SAN DNS name)" : string.Join(", ", names))}, not {AgentOptions.SectionName}:{nameof(AgentOptions.Host)} '{agent.Host}'; " +
                "the coordinator accepts a registration only for a host the certificate names.");
        }

        return errors;
    }

    private static bool TryParse(string url, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out BindingAddress? address)
    {
        try
        {
            address = BindingAddress.Parse(url);
            return address.Host is "*" or "+" or "localhost" || IPAddress.TryParse(address.Host.Trim('[', ']'), out _);
        }
        catch (FormatException)
        {
            address = null;
            return false;
        }
    }

    /// <summary>The listen URLs and the key they came from (urls or Agent:Listen), as read when the host was built.</summary>
    private sealed record ListenSetting(string Key, string Value);

    /// <summary>Every configuration error inside <paramref name="e"/>; empty when it is something else.</summary>
    internal static IReadOnlyList<string> ConfigurationErrors(Exception e)
    {
        var errors = new List<string>();
        return Collect(e, errors) ? errors : [];

        static bool Collect(Exception e, List<string> errors)
        {
            switch (e)
            {
                case OptionsValidationException v:
                    errors.AddRange(v.Failures.Select(f => f.StartsWith(AgentOptions.SectionName + ":", StringComparison.Ordinal)
                        ? f
                        : v.OptionsType == typeof(RunStoreOptions) ? $"{AgentServiceCollectionExtensions.StoreSectionName}: {f}" : $"{v.OptionsType.Name}: {f}"));
                    return true;
                case AggregateException a:
                    bool all = a.InnerExceptions.Count > 0;
                    foreach (var inner in a.InnerExceptions)
                    {
                        all &= Collect(inner, errors);
                    }

                    return all;
                // The configuration binder: a value that does not convert (e.g. MaxBins=lots).
                case InvalidOperationException i when i.Message.Contains("configuration", StringComparison.OrdinalIgnoreCase):
                    errors.Add(i.InnerException is { } inner2 ? $"{i.Message} ({inner2.Message})" : i.Message);
                    return true;
                default:
                    return false;
            }
        }
    }

    private static T? Find<T>(Exception e) where T : Exception => e switch
    {
        T t => t,
        AggregateException a => a.InnerExceptions.Select(Find<T>).FirstOrDefault(x => x is not null),
        { InnerException: { } inner } => Find<T>(inner),
        _ => null,
    };
}
