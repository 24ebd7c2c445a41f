using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Millisampler.Cli.Connection;

/// <summary>
/// What the CLI presents to the coordinator and whom it trusts: a client certificate with its key, a bearer token,
/// and the CA bundle the coordinator's certificate must chain to (none: this machine's trusted roots).
/// Each part remembers where it came from (an option or an environment variable) for error messages.
/// </summary>
internal sealed class ClientCredentials : IDisposable
{
    // A JWT is a few KB; a larger file is not a token.
    private const int MaxTokenBytes = 64 * 1024;

    /// <summary>None: no client certificate, no token, the machine's trusted roots.</summary>
    public static ClientCredentials None => new(null, null, null, null);

    private ClientCredentials(X509Certificate2? certificate, string? token, X509Certificate2Collection? authorities, string? authoritiesSource)
    {
        Certificate = certificate;
        Token = token;
        Authorities = authorities;
        AuthoritiesSource = authoritiesSource;
    }

    /// <summary>The client certificate with its private key, or null.</summary>
    public X509Certificate2? Certificate { get; }

    /// <summary>The bearer token, or null.</summary>
    public string? Token { get; }

    /// <summary>The CA bundle the coordinator's certificate must chain to; null = this machine's trusted roots.</summary>
    public X509Certificate2Collection? Authorities { get; }

    /// <summary>Where <see cref="Authorities"/> came from: "--ca '/path'" or "$MILLISAMPLER_CA '/path'".</summary>
    public string? AuthoritiesSource { get; }

    /// <summary>True when a certificate or a token is presented.</summary>
    public bool Presents => Certificate is not null || Token is not null;

    /// <summary>
    /// Reads the files named; each argument is (source, path) or null. Throws <see cref="UsageException"/> naming the
    /// option (or variable) and the file when one is missing, unreadable or not what it should be.
    /// </summary>
    public static ClientCredentials Load((string Source, string Path)? certificate, (string Source, string Path)? key,
        (string Source, string Path)? ca, (string Source, string Path)? tokenFile)
    {
        if (key is { } k && certificate is null)
        {
            throw new UsageException($"{k.Source}: a key needs its certificate (--cert or ${CliEnvironment.CertificateVariable})");
        }

        X509Certificate2? cert = certificate is { } c ? LoadCertificate(c, key) : null;
        X509Certificate2Collection? authorities = null;
        try
        {
            authorities = ca is { } a ? LoadAuthorities(a) : null;
            string? token = tokenFile is { } t ? LoadToken(t) : null;
            return new ClientCredentials(cert, token, authorities, ca is { } s ? $"{s.Source} '{s.Path}'" : null);
        }
        catch
        {
            cert?.Dispose();
            throw;
        }
    }

    private static X509Certificate2 LoadCertificate((string Source, string Path) certificate, (string Source, string Path)? key)
    {
        RequireFile(certificate);
        if (key is { } k)
        {
            RequireFile(k);
        }

        try
        {
            // Without a key file the certificate file may hold the key too (one combined PEM).
            X509Certificate2 loaded = X509Certificate2.CreateFromPemFile(certificate.Path, key?.Path);
            if (!loaded.HasPrivateKey)
            {
                loaded.Dispose();
                throw new UsageException($"{certificate.Source}: '{certificate.Path}' holds no private key; give it with --key");
            }

            return loaded;
        }
        catch (Exception e) when (e is CryptographicException or ArgumentException)
        {
            if (key is { } kk)
            {
                // ArgumentException: "The provided key does not match the public key for this certificate. (Parameter 'privateKey')".
                string reason = e is ArgumentException a && a.ParamName is not null ? a.Message.Replace($" (Parameter '{a.ParamName}')", "", StringComparison.Ordinal) : e.Message;
                throw new UsageException($"{certificate.Source}/{kk.Source}: cannot load the certificate '{certificate.Path}' with the key '{kk.Path}': {reason.TrimEnd('.')}");
            }

            throw new UsageException($"{certificate.Source}: '{certificate.Path}' holds no private key or no certificate; give the key with --key");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{certificate.Source}: cannot read '{certificate.Path}': {e.Message}");
        }
    }

    private static X509Certificate2Collection LoadAuthorities((string Source, string Path) ca)
    {
        RequireFile(ca);
        var authorities = new X509Certificate2Collection();
        try
        {
            authorities.ImportFromPemFile(ca.Path);
        }
        catch (CryptographicException e)
        {
            throw new UsageException($"{ca.Source}: '{ca.Path}' is not a PEM certificate bundle: {e.Message.TrimEnd('.')}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{ca.Source}: cannot read '{ca.Path}': {e.Message}");
        }

        if (authorities.Count == 0)
        {
            throw new UsageException($"{ca.Source}: '{ca.Path}' holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
        }

        return authorities;
    }

    private static string LoadToken((string Source, string Path) tokenFile)
    {
        RequireFile(tokenFile);
        string text;
        try
        {
            if (new FileInfo(tokenFile.Path).Length > MaxTokenBytes)
            {
                throw new UsageException($"{tokenFile.Source}: '{tokenFile.Path}' is over {MaxTokenBytes / 1024} KB: not a token");
            }

            text = File.ReadAllText(tokenFile.Path).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UsageException($"{tokenFile.Source}: cannot read '{tokenFile.Path}': {e.Message}");
        }

        if (text.Length == 0)
        {
            throw new UsageException($"{tokenFile.Source}: '{tokenFile.Path}' is empty; it must hold one bearer token (a JWT)");
        }

        if (text.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            text = text["Bearer ".Length..].Trim();
        }

        if (text.Any(ch => char.IsWhiteSpace(ch) || char.IsControl(ch)))
        {
            throw new UsageException($"{tokenFile.Source}: '{tokenFile.Path}' must hold one bearer token (a JWT) on one line");
        }

        return text;
    }

    private static void RequireFile((string Source, string Path) file)
    {
        if (string.IsNullOrWhiteSpace(file.Path))
        {
            throw new UsageException($"{file.Source}: must name a file");
        }

        if (Directory.Exists(file.Path))
        {
            throw new UsageException($"{file.Source}: '{file.Path}' is a directory, not a file");
        }

        if (!File.Exists(file.Path))
        {
            throw new UsageException($"{file.Source}: '{file.Path}' does not exist");
        }
    }

    public void Dispose() => Certificate?.Dispose();
}
