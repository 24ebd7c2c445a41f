using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using Millisampler.Agent.Bpf;
using Millisampler.Agent.Sampling;
using Millisampler.Agent.Schedule;
using Millisampler.Agent.Storage;
using Millisampler.ServiceDefaults;

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
    /// gRPC over h2c on <c>--urls</c> or <c>Agent:Listen</c>, and /healthz. <paramref name="configure"/> may replace services (tests).
    /// </summary>
    public static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ApplicationName = typeof(AgentApp).Assembly.GetName().Name,
        });
        configure?.Invoke(builder);
        string listen = builder.Configuration["urls"] is { Length: > 0 } urls
            ? urls
            : builder.Configuration[$"{AgentOptions.SectionName}:{nameof(AgentOptions.Listen)}"] ?? new AgentOptions().Listen;
        builder.WebHost.UseUrls(listen);
        // gRPC without TLS needs HTTP/2 with prior knowledge; a cleartext endpoint cannot also offer HTTP/1.1.
        builder.WebHost.ConfigureKestrel(k => k.ConfigureEndpointDefaults(l => l.Protocols = HttpProtocols.Http2));
        builder.AddServiceDefaults();
        builder.Services.AddAgent(builder.Configuration);

        var app = builder.Build();
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
