using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Millisampler.Lab.Certificates;

/// <summary>The three PEM files a service is configured with (Security:CertificatePath, KeyPath, CaPath).</summary>
/// <param name="CertificatePath">The leaf certificate.</param>
/// <param name="KeyPath">Its private key (PKCS#8, mode 0600).</param>
/// <param name="CaPath">The CA certificate.</param>
public sealed record CertificateFiles(string CertificatePath, string KeyPath, string CaPath)
{
    /// <summary>The three settings as command-line switches.</summary>
    public string[] AsSettings() =>
    [
        $"--Security:CertificatePath={CertificatePath}",
        $"--Security:KeyPath={KeyPath}",
        $"--Security:CaPath={CaPath}",
    ];
}

/// <summary>
/// A throw-away certificate authority made in memory with the framework's certificate APIs (ECDSA P-256, no openssl):
/// the lab, the demo and the tests issue agent, coordinator and engineer certificates from it. Roles go in a SAN URI
/// <c>urn:millisampler:role:&lt;role&gt;</c>, host names in SAN DNS names, as the services read them.
/// </summary>
public sealed class ThrowAwayCa : IDisposable
{
    private ThrowAwayCa(X509Certificate2 certificate) => Certificate = certificate;

    /// <summary>The CA certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>A new CA valid from 5 minutes ago for <paramref name="validity"/> (default 2 days).</summary>
    public static ThrowAwayCa Create(string name = "Millisampler throw-away CA", TimeSpan? validity = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={name}"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        DateTimeOffset now = DateTimeOffset.UtcNow;
        return new ThrowAwayCa(request.CreateSelfSigned(now.AddMinutes(-5), now + (validity ?? TimeSpan.FromDays(2))));
    }

    /// <summary>
    /// A leaf certificate for <paramref name="commonName"/> with <paramref name="roles"/> (SAN URIs), <paramref name="dnsNames"/>
    /// and <paramref name="ipAddresses"/>, usable as TLS server and client; with its private key.
    /// </summary>
    public X509Certificate2 Issue(string commonName, IEnumerable<string> roles, IEnumerable<string>? dnsNames = null,
        IEnumerable<IPAddress>? ipAddresses = null, TimeSpan? validity = null, DateTimeOffset? notBefore = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={commonName}"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, true, false));
        var san = new SubjectAlternativeNameBuilder();
        bool any = false;
        foreach (string dns in dnsNames ?? [])
        {
            san.AddDnsName(dns);
            any = true;
        }

        foreach (IPAddress ip in ipAddresses ?? [])
        {
            san.AddIpAddress(ip);
            any = true;
        }

        foreach (string role in roles)
        {
            san.AddUri(new Uri("urn:millisampler:role:" + role));
            any = true;
        }

        if (any)
        {
            request.CertificateExtensions.Add(san.Build());
        }

        DateTimeOffset start = notBefore ?? DateTimeOffset.UtcNow.AddMinutes(-5);
        DateTimeOffset end = start + (validity ?? TimeSpan.FromDays(1));
        if (end > Certificate.NotAfter)
        {
            end = Certificate.NotAfter;
        }

        byte[] serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using X509Certificate2 issued = request.Create(Certificate, start, end, serial);
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>Writes the CA certificate (public part only) as PEM.</summary>
    public void WriteCaPem(string path) => WriteFile(path, Certificate.ExportCertificatePem(), secret: false);

    /// <summary>
    /// Writes <paramref name="certificate"/> and its key to <paramref name="directory"/> as <c>name.pem</c> and
    /// <c>name-key.pem</c>, and the CA as <c>ca.pem</c>; returns the three paths.
    /// </summary>
    public CertificateFiles Write(X509Certificate2 certificate, string directory, string name)
    {
        Directory.CreateDirectory(directory);
        var files = new CertificateFiles(Path.Combine(directory, name + ".pem"), Path.Combine(directory, name + "-key.pem"),
            Path.Combine(directory, "ca.pem"));
        WriteCertificate(certificate, files.CertificatePath, files.KeyPath);
        if (!File.Exists(files.CaPath))
        {
            WriteCaPem(files.CaPath);
        }

        return files;
    }

    /// <summary>Writes a certificate and its private key as PEM (key file mode 0600), each through a temporary file and a rename.</summary>
    public static void WriteCertificate(X509Certificate2 certificate, string certificatePath, string keyPath)
    {
        using ECDsa? key = certificate.GetECDsaPrivateKey();
        string keyPem = key is not null
            ? key.ExportPkcs8PrivateKeyPem()
            : certificate.GetRSAPrivateKey()?.ExportPkcs8PrivateKeyPem() ?? throw new ArgumentException("the certificate has no private key", nameof(certificate));
        WriteFile(keyPath, keyPem, secret: true);
        WriteFile(certificatePath, certificate.ExportCertificatePem(), secret: false);
    }

    private static void WriteFile(string path, string pem, bool secret)
    {
        string temporary = path + ".tmp-" + Guid.NewGuid().ToString("N");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = secret ? UnixFileMode.UserRead | UnixFileMode.UserWrite
                : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        }

        using (var stream = new FileStream(temporary, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(pem);
            writer.Write('\n');
        }

        File.Move(temporary, path, overwrite: true);
    }

    public void Dispose() => Certificate.Dispose();
}
