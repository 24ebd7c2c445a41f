using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Millisampler.ServiceDefaults.Security;

/// <summary>A certificate file, its key file or the CA bundle could not be read; the message names the setting and the reason.</summary>
public sealed class CertificateLoadException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// One loaded generation of this service's certificate, its key, its intermediates and the trusted authorities,
/// with the check every peer certificate must pass. Immutable; a rotation loads a new set.
/// </summary>
public sealed class CertificateSet : IDisposable
{
    /// <summary>Extended key usage "TLS web server authentication".</summary>
    public static readonly Oid ServerAuthentication = new("1.3.6.1.5.5.7.3.1", "Server Authentication");

    /// <summary>Extended key usage "TLS web client authentication".</summary>
    public static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2", "Client Authentication");

    private CertificateSet(X509Certificate2 certificate, X509Certificate2Collection intermediates, X509Certificate2Collection authorities)
    {
        Certificate = certificate;
        Intermediates = intermediates;
        Authorities = authorities;
        ServerContext = SslStreamCertificateContext.Create(certificate, intermediates, offline: true);
    }

    /// <summary>This service's certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>Certificates after the leaf in the certificate file.</summary>
    public X509Certificate2Collection Intermediates { get; }

    /// <summary>The trusted authorities (the CA bundle).</summary>
    public X509Certificate2Collection Authorities { get; }

    /// <summary>The certificate with its chain, built once, for TLS servers.</summary>
    public SslStreamCertificateContext ServerContext { get; }

    /// <summary>Reads the three PEM files; throws <see cref="CertificateLoadException"/> naming the setting that is wrong.</summary>
    public static CertificateSet Load(string certificatePath, string keyPath, string caPath)
    {
        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPemFile(certificatePath, keyPath);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException or ArgumentException)
        {
            throw new CertificateLoadException(
                $"{SecurityOptions.SectionName}:{nameof(SecurityOptions.CertificatePath)}/{nameof(SecurityOptions.KeyPath)}: " +
                $"cannot load '{certificatePath}' with key '{keyPath}': {e.Message}", e);
        }

        var intermediates = new X509Certificate2Collection();
        var authorities = new X509Certificate2Collection();
        try
        {
            var all = new X509Certificate2Collection();
            all.ImportFromPemFile(certificatePath);
            foreach (X509Certificate2 c in all.Skip(1))
            {
                intermediates.Add(c);
            }

            authorities.ImportFromPemFile(caPath);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            certificate.Dispose();
            throw new CertificateLoadException(
                $"{SecurityOptions.SectionName}:{nameof(SecurityOptions.CaPath)}: cannot read '{caPath}': {e.Message}", e);
        }

        if (authorities.Count == 0)
        {
            certificate.Dispose();
            throw new CertificateLoadException(
                $"{SecurityOptions.SectionName}:{nameof(SecurityOptions.CaPath)}: '{caPath}' holds no PEM certificate.");
        }

        return new CertificateSet(certificate, intermediates, authorities);
    }

    /// <summary>
    /// True when <paramref name="peer"/> chains to one of <see cref="Authorities"/> at the current time, with the
    /// extended key usage <paramref name="usage"/> (when it states any). <paramref name="error"/> says why not.
    /// </summary>
    public bool IsTrusted(X509Certificate2 peer, X509Chain? presented, Oid usage, out string error)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(Authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(usage);
        if (presented is not null)
        {
            foreach (X509ChainElement element in presented.ChainElements)
            {
                if (!element.Certificate.RawDataMemory.Span.SequenceEqual(peer.RawDataMemory.Span))
                {
                    chain.ChainPolicy.ExtraStore.Add(element.Certificate);
                }
            }
        }

        if (chain.Build(peer))
        {
            error = "";
            return true;
        }

        error = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct());
        if (error.Length == 0)
        {
            error = "does not chain to the configured CA";
        }

        return false;
    }

    public void Dispose()
    {
        Certificate.Dispose();
    }
}
