using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Millisampler.ServiceDefaults.Security;

/// <summary>Registers <see cref="SecurityOptions"/> and <see cref="TlsCertificates"/>.</summary>
public static partial class SecurityServiceCollectionExtensions
{
    /// <summary>Binds <c>Security</c>; validated by <see cref="SecurityOptions.Validate"/> (call it before the host starts).</summary>
    public static IServiceCollection AddTransportSecurity(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<SecurityOptions>()
            .Bind(configuration.GetSection(SecurityOptions.SectionName), o => o.ErrorOnUnknownConfiguration = true);
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<TlsCertificates>();
        return services;
    }

    /// <summary>Reads <c>Security</c> from configuration without a container (listen set-up runs before the container exists).</summary>
    public static SecurityOptions ReadSecurityOptions(this IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var o = new SecurityOptions();
        configuration.GetSection(SecurityOptions.SectionName).Bind(o);
        return o;
    }

    /// <summary>Logs, loudly, that this service runs without TLS or authentication.</summary>
    public static void WarnIfInsecure(IServiceProvider services, string service)
    {
        SecurityOptions o = services.GetRequiredService<IOptions<SecurityOptions>>().Value;
        if (o.Insecure)
        {
            LogInsecure(services.GetRequiredService<ILoggerFactory>().CreateLogger("Millisampler.Security"), service);
        }
    }

    [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message =
        "INSECURE MODE: {Service} runs with Security:Insecure=true: plaintext HTTP/2, no certificates, no authentication; " +
        "anyone who reaches its ports can register hosts, start captures and read results. For a laptop only.")]
    private static partial void LogInsecure(ILogger logger, string service);
}
