using System.Collections.Concurrent;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Millisampler.Lab.Certificates;
using Millisampler.ServiceDefaults.Security;

namespace Millisampler.Coordinator.Tests.Infrastructure;

/// <summary>One throw-away CA for the test run, and certificates from it written to a temporary directory.</summary>
internal static class TestPki
{
    private static readonly Lazy<ThrowAwayCa> LazyCa = new(() => ThrowAwayCa.Create("Millisampler coordinator tests CA"));
    private static readonly ConcurrentDictionary<string, CertificateFiles> Written = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, X509Certificate2> Issued = new(StringComparer.Ordinal);
    private static readonly Lazy<string> LazyDirectory = new(() =>
    {
        string dir = Directory.CreateTempSubdirectory("ms-coordinator-pki-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
        };
        return dir;
    });

    public static ThrowAwayCa Ca => LazyCa.Value;

    public static string DirectoryPath => LazyDirectory.Value;

    /// <summary>Files for <paramref name="name"/> with <paramref name="roles"/>, and <paramref name="dnsNames"/> (default: the name).</summary>
    public static CertificateFiles Files(string name, string[] roles, string[]? dnsNames = null) =>
        Written.GetOrAdd(name + "|" + string.Join(",", roles) + "|" + string.Join(",", dnsNames ?? [name]),
            _ => Ca.Write(Certificate(name, roles, dnsNames), DirectoryPath, $"{name}-{Guid.NewGuid():N}"));

    /// <summary>A certificate (with key) for <paramref name="name"/> holding <paramref name="roles"/>.</summary>
    public static X509Certificate2 Certificate(string name, string[] roles, string[]? dnsNames = null) =>
        Issued.GetOrAdd(name + "|" + string.Join(",", roles) + "|" + string.Join(",", dnsNames ?? [name]),
            _ => Ca.Issue(name, roles, dnsNames ?? [name]));

    /// <summary>A reloading certificate source over <paramref name="files"/>, as the services build one.</summary>
    public static TlsCertificates Source(CertificateFiles files) =>
        new(Options.Create(new SecurityOptions { CertificatePath = files.CertificatePath, KeyPath = files.KeyPath, CaPath = files.CaPath }),
            TimeProvider.System, NullLogger<TlsCertificates>.Instance);

    /// <summary>A handler that presents <paramref name="name"/>'s certificate with <paramref name="roles"/> (none when null) and trusts the CA.</summary>
    public static SocketsHttpHandler Handler(string? name, params string[] roles)
    {
        var handler = new SocketsHttpHandler();
        if (name is null)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                certificate is not null && Trusted(new X509Certificate2(certificate));
            return handler;
        }

        return handler.UseMutualTls(Source(Files(name, roles)), _ => null);
    }

    private static bool Trusted(X509Certificate2 certificate)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(Ca.Certificate);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }

    /// <summary>The coordinator's settings: certificate, key, CA.</summary>
    public static string[] CoordinatorSettings() => Files("coordinator", [Roles.Coordinator], ["coordinator"]).AsSettings();
}
