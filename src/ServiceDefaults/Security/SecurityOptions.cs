namespace Millisampler.ServiceDefaults.Security;

/// <summary>
/// Transport security shared by the agent and the coordinator. Section <c>Security</c>. Every connection between
/// them is mutual TLS: each side presents its certificate and checks the peer's against <see cref="CaPath"/>.
/// Files are PEM and are read again when they change on disk (cert-manager rotates them in place).
/// </summary>
public sealed class SecurityOptions
{
    /// <summary>Configuration section.</summary>
    public const string SectionName = "Security";

    /// <summary>
    /// Plaintext, unauthenticated mode for a laptop: no TLS, no client identities, every caller is admin.
    /// Logged at Warning at start. Default false.
    /// </summary>
    public bool Insecure { get; set; }

    /// <summary>PEM certificate this service presents (leaf first; intermediates may follow). Required unless <see cref="Insecure"/>.</summary>
    public string CertificatePath { get; set; } = "";

    /// <summary>PEM private key of <see cref="CertificatePath"/> (PKCS#8, PKCS#1 or SEC1, unencrypted). Required unless <see cref="Insecure"/>.</summary>
    public string KeyPath { get; set; } = "";

    /// <summary>PEM bundle of the certificate authorities peers' certificates must chain to. Required unless <see cref="Insecure"/>.</summary>
    public string CaPath { get; set; } = "";

    /// <summary>How often the files' modification times are checked for a rotation; 0 = on every handshake. Default 5 s.</summary>
    public TimeSpan ReloadCheckInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Settings (with the section) that secure mode needs but are empty.</summary>
    public IReadOnlyList<string> MissingSettings()
    {
        if (Insecure)
        {
            return [];
        }

        var missing = new List<string>();
        if (string.IsNullOrWhiteSpace(CertificatePath))
        {
            missing.Add($"{SectionName}:{nameof(CertificatePath)}");
        }

        if (string.IsNullOrWhiteSpace(KeyPath))
        {
            missing.Add($"{SectionName}:{nameof(KeyPath)}");
        }

        if (string.IsNullOrWhiteSpace(CaPath))
        {
            missing.Add($"{SectionName}:{nameof(CaPath)}");
        }

        return missing;
    }

    /// <summary>Every configuration error: missing files in secure mode named by setting, unreadable files, bad intervals.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        IReadOnlyList<string> missing = MissingSettings();
        if (missing.Count > 0)
        {
            errors.Add($"no certificates configured: set {string.Join(", ", missing)} (PEM files), " +
                $"or {SectionName}:{nameof(Insecure)}=true for plaintext without authentication (a laptop only)");
        }

        if (ReloadCheckInterval < TimeSpan.Zero || ReloadCheckInterval > TimeSpan.FromHours(1))
        {
            errors.Add($"{SectionName}:{nameof(ReloadCheckInterval)}: {ReloadCheckInterval} must be 0..1 h.");
        }

        if (Insecure || missing.Count > 0)
        {
            return errors;
        }

        foreach ((string name, string path) in new[] { (nameof(CertificatePath), CertificatePath), (nameof(KeyPath), KeyPath), (nameof(CaPath), CaPath) })
        {
            if (!File.Exists(path))
            {
                errors.Add($"{SectionName}:{name}: file '{path}' does not exist.");
            }
        }

        if (errors.Count == 0)
        {
            try
            {
                using CertificateSet set = CertificateSet.Load(CertificatePath, KeyPath, CaPath);
            }
            catch (CertificateLoadException e)
            {
                errors.Add(e.Message);
            }
        }

        return errors;
    }
}
