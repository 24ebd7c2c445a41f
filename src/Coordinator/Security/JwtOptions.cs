namespace Millisampler.Coordinator.Security;

/// <summary>
/// Bearer tokens (JWT from an OIDC issuer) for engineers. Section <c>Coordinator:Jwt</c>. Off while neither
/// <see cref="Authority"/> nor <see cref="Issuer"/> is set. Signing keys come from the issuer's metadata
/// (<see cref="Authority"/>) or from PEM files (<see cref="SigningKeyPaths"/>).
/// </summary>
public sealed class JwtOptions
{
    /// <summary>Configuration section.</summary>
    public const string SectionName = "Coordinator:Jwt";

    /// <summary>OIDC issuer URL; its /.well-known/openid-configuration gives issuer and signing keys. Default empty.</summary>
    public string Authority { get; set; } = "";

    /// <summary>Expected <c>iss</c>; default: the authority's. Required when <see cref="Authority"/> is empty.</summary>
    public string Issuer { get; set; } = "";

    /// <summary>Expected <c>aud</c>. Required when tokens are on. Default empty.</summary>
    public string Audience { get; set; } = "";

    /// <summary>PEM public keys or certificates (RSA or ECDSA) that sign tokens, instead of the authority's metadata. Default none.</summary>
    public List<string> SigningKeyPaths { get; set; } = [];

    /// <summary>Claim naming the caller, recorded as a capture's requested_by. Default <c>sub</c>.</summary>
    public string NameClaim { get; set; } = "sub";

    /// <summary>Claim holding roles (one claim per value, or a JSON array). Default <c>roles</c>.</summary>
    public string RoleClaim { get; set; } = "roles";

    /// <summary>
    /// Role claim value → Millisampler role (viewer, operator, admin), e.g. <c>netops-oncall=operator</c>. A value that is
    /// itself a role name maps to that role. Default none.
    /// </summary>
    public Dictionary<string, string> RoleMappings { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Fetch the authority's metadata only over https. Default true.</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    /// <summary>Allowed clock difference for exp/nbf. Default 1 min.</summary>
    public TimeSpan ClockSkew { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>True when tokens are accepted.</summary>
    public bool Enabled => !string.IsNullOrWhiteSpace(Authority) || !string.IsNullOrWhiteSpace(Issuer);

    /// <summary>Every configuration error, each naming its key.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!Enabled)
        {
            return errors;
        }

        const string S = SectionName + ":";
        if (string.IsNullOrWhiteSpace(Audience))
        {
            errors.Add($"{S}{nameof(Audience)}: required when {nameof(Authority)} or {nameof(Issuer)} is set.");
        }

        if (string.IsNullOrWhiteSpace(Authority) && SigningKeyPaths.Count == 0)
        {
            errors.Add($"{S}{nameof(SigningKeyPaths)}: name at least one PEM key file when no {nameof(Authority)} provides the keys.");
        }

        if (!string.IsNullOrWhiteSpace(Authority) && !Uri.TryCreate(Authority, UriKind.Absolute, out _))
        {
            errors.Add($"{S}{nameof(Authority)}: '{Authority}' is not an absolute URL.");
        }

        foreach ((string value, string role) in RoleMappings)
        {
            if (role is not (ServiceDefaults.Security.Roles.Viewer or ServiceDefaults.Security.Roles.Operator or ServiceDefaults.Security.Roles.Admin))
            {
                errors.Add($"{S}{nameof(RoleMappings)}:{value}: '{role}' must be viewer, operator or admin.");
            }
        }

        foreach (string path in SigningKeyPaths)
        {
            try
            {
                _ = JwtSigningKeys.Load(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or System.Security.Cryptography.CryptographicException)
            {
                errors.Add($"{S}{nameof(SigningKeyPaths)}: cannot read a public key from '{path}': {e.Message}");
            }
        }

        return errors;
    }
}
