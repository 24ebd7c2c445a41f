using System.Security.Claims;
using System.Text.Encodings.Web;
using Grpc.Core;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Millisampler.ServiceDefaults.Security;

namespace Millisampler.Coordinator.Security;

/// <summary>Authorization policy names: one per role. Admin includes operator, operator includes viewer.</summary>
internal static class Policies
{
    /// <summary>Reads racks, captures and series.</summary>
    public const string Viewer = Roles.Viewer;

    /// <summary>Starts captures.</summary>
    public const string Operator = Roles.Operator;

    /// <summary>Sweeps, triggers, membership changes.</summary>
    public const string Admin = Roles.Admin;

    /// <summary>Agents: Register, Heartbeat, ReportTrigger.</summary>
    public const string Agent = Roles.Agent;
}

/// <summary>
/// Who is calling. Callers authenticate with a client certificate from the configured CA or, when
/// <see cref="JwtOptions.Enabled"/>, a bearer token; roles come from the certificate (see <see cref="CertificateIdentity"/>)
/// or from the token's role claim (<see cref="JwtOptions.RoleMappings"/>). In insecure mode everyone is an
/// anonymous admin and agent.
/// </summary>
internal static class CoordinatorAuthentication
{
    /// <summary>Claim type of a host an agent certificate names (SAN DNS).</summary>
    public const string HostClaim = "millisampler:host";

    private const string SelectorScheme = "Millisampler";
    private const string CertificateScheme = "Certificate";
    private const string InsecureScheme = "Insecure";

    public static IServiceCollection AddCoordinatorAuthentication(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<JwtOptions>()
            .Bind(configuration.GetSection(JwtOptions.SectionName), o => o.ErrorOnUnknownConfiguration = true);
        SecurityOptions security = configuration.ReadSecurityOptions();
        var jwt = new JwtOptions();
        configuration.GetSection(JwtOptions.SectionName).Bind(jwt);

        AuthenticationBuilder auth = services.AddAuthentication(SelectorScheme)
            .AddPolicyScheme(SelectorScheme, "Millisampler caller", o => o.ForwardDefaultSelector = context =>
                security.Insecure ? InsecureScheme
                : jwt.Enabled && context.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
                    ? JwtBearerDefaults.AuthenticationScheme
                    : CertificateScheme)
            .AddScheme<AuthenticationSchemeOptions, ClientCertificateHandler>(CertificateScheme, null)
            .AddScheme<AuthenticationSchemeOptions, InsecureHandler>(InsecureScheme, null);
        if (jwt.Enabled)
        {
            auth.AddJwtBearer(o => ConfigureJwt(o, jwt));
        }

        services.AddAuthorization(o =>
        {
            foreach (string role in new[] { Policies.Viewer, Policies.Operator, Policies.Admin, Policies.Agent })
            {
                o.AddPolicy(role, p => p.RequireAuthenticatedUser().RequireRole(role));
            }
        });
        return services;
    }

    /// <summary>The caller's name for requested_by: certificate CN, the token's name claim, or "anonymous (insecure mode)".</summary>
    public static string NameOf(ClaimsPrincipal user) => user.Identity?.Name is { Length: > 0 } name ? name : "unknown";

    /// <summary>The caller of a gRPC call.</summary>
    public static ClaimsPrincipal UserOf(ServerCallContext context) => context.GetHttpContext().User;

    /// <summary>True when the caller may act as <paramref name="host"/>: its certificate names the host (always in insecure mode).</summary>
    public static bool MayActAs(ClaimsPrincipal user, string host) =>
        user.Identity?.AuthenticationType == InsecureScheme
        || user.FindAll(HostClaim).Any(c => string.Equals(c.Value, host, StringComparison.OrdinalIgnoreCase));

    /// <summary>An identity with the name and every role <paramref name="roles"/> grants.</summary>
    internal static ClaimsIdentity Identity(string authenticationType, string name, IEnumerable<string> roles, IEnumerable<string>? hosts = null)
    {
        var identity = new ClaimsIdentity(authenticationType, ClaimTypes.Name, ClaimTypes.Role);
        identity.AddClaim(new Claim(ClaimTypes.Name, name));
        foreach (string role in roles.SelectMany(Roles.Implied).Distinct(StringComparer.Ordinal))
        {
            identity.AddClaim(new Claim(ClaimTypes.Role, role));
        }

        foreach (string host in hosts ?? [])
        {
            identity.AddClaim(new Claim(HostClaim, host));
        }

        return identity;
    }

    private static void ConfigureJwt(JwtBearerOptions o, JwtOptions jwt)
    {
        o.MapInboundClaims = false;
        o.RequireHttpsMetadata = jwt.RequireHttpsMetadata;
        if (!string.IsNullOrWhiteSpace(jwt.Authority))
        {
            o.Authority = jwt.Authority;
        }

        o.Audience = jwt.Audience;
        o.TokenValidationParameters = new TokenValidationParameters
        {
            ValidateIssuer = true,
            ValidIssuer = string.IsNullOrWhiteSpace(jwt.Issuer) ? null : jwt.Issuer,
            ValidateAudience = true,
            ValidAudience = jwt.Audience,
            ValidateLifetime = true,
            RequireExpirationTime = true,
            ClockSkew = jwt.ClockSkew,
            NameClaimType = jwt.NameClaim,
            RoleClaimType = jwt.RoleClaim,
        };
        if (jwt.SigningKeyPaths.Count > 0)
        {
            o.TokenValidationParameters.IssuerSigningKeys = jwt.SigningKeyPaths.Select(JwtSigningKeys.Load).ToList();
        }

        o.Events = new JwtBearerEvents
        {
            // Replace the token's claims by the caller's name and Millisampler roles only.
            OnTokenValidated = context =>
            {
                ClaimsPrincipal token = context.Principal!;
                string name = token.FindFirst(jwt.NameClaim)?.Value ?? token.FindFirst("sub")?.Value ?? "unknown";
                var roles = token.FindAll(jwt.RoleClaim).Select(c => c.Value)
                    .Select(v => jwt.RoleMappings.TryGetValue(v, out string? mapped) ? mapped
                        : v is Roles.Viewer or Roles.Operator or Roles.Admin ? v : null)
                    .Where(r => r is not null).Select(r => r!);
                context.Principal = new ClaimsPrincipal(Identity("Bearer", name, roles));
                return Task.CompletedTask;
            },
        };
    }

    /// <summary>The client certificate Kestrel already checked against the CA during the handshake.</summary>
    private sealed class ClientCertificateHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            var certificate = await Context.Connection.GetClientCertificateAsync(Context.RequestAborted).ConfigureAwait(false);
            if (certificate is null)
            {
                return AuthenticateResult.NoResult();
            }

            IReadOnlySet<string> roles = CertificateIdentity.RolesOf(certificate);
            IEnumerable<string> hosts = roles.Contains(Roles.Agent) ? CertificateIdentity.DnsNamesOf(certificate) : [];
            var identity = Identity(Scheme.Name, CertificateIdentity.NameOf(certificate), roles, hosts);
            return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name));
        }
    }

    /// <summary>Security:Insecure=true: every caller is an anonymous admin, agent and coordinator.</summary>
    private sealed class InsecureHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
        : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
    {
        protected override Task<AuthenticateResult> HandleAuthenticateAsync()
        {
            var identity = Identity(InsecureScheme, "anonymous (insecure mode)", [Roles.Admin, Roles.Agent, Roles.Coordinator]);
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), Scheme.Name)));
        }
    }
}
