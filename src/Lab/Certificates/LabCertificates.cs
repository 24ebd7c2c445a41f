using System.Net;
using System.Security.Cryptography.X509Certificates;

namespace Millisampler.Lab.Certificates;

/// <summary>
/// The lab rack's public-key infrastructure: one <see cref="ThrowAwayCa"/> made at start, and the certificates each
/// process is configured with, written as PEM under one directory: the coordinator's (role coordinator, its address in
/// the SAN so the CLI's host-name check passes), one per agent (role agent, the host name the coordinator binds it to),
/// and engineers' (a role: viewer, operator or admin). Nothing outlives the lab: the CA's key is never written.
/// </summary>
public sealed class LabCertificates : IDisposable
{
    private readonly ThrowAwayCa _ca;

    private LabCertificates(ThrowAwayCa ca, string directory)
    {
        _ca = ca;
        Directory = directory;
        CaPath = Path.Combine(directory, "ca.pem");
        ca.WriteCaPem(CaPath);
    }

    /// <summary>Where the PEM files are.</summary>
    public string Directory { get; }

    /// <summary>The CA certificate every process trusts.</summary>
    public string CaPath { get; }

    /// <summary>A new CA (valid 2 days) writing into <paramref name="directory"/> (created, mode 0700).</summary>
    public static LabCertificates Create(string directory)
    {
        var info = System.IO.Directory.CreateDirectory(directory);
        if (!OperatingSystem.IsWindows())
        {
            info.UnixFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
        }

        return new LabCertificates(ThrowAwayCa.Create("Millisampler lab CA"), directory);
    }

    /// <summary>The coordinator's files: role coordinator, SAN DNS "coordinator" and <paramref name="addresses"/>.</summary>
    public CertificateFiles Coordinator(params IPAddress[] addresses) =>
        Write("coordinator", "coordinator", ["coordinator"], ["coordinator"], addresses);

    /// <summary>An agent's files: role agent, SAN DNS <paramref name="host"/> (its Agent:Host) and its address.</summary>
    public CertificateFiles Agent(string host, IPAddress address) =>
        Write("agent-" + host, host, ["agent"], [host], [address]);

    /// <summary>An engineer's files for the CLI: CN <paramref name="name"/> (recorded as who asked) with <paramref name="role"/>.</summary>
    public CertificateFiles Engineer(string name, string role) => Write("engineer-" + name, name, [role], [], []);

    private CertificateFiles Write(string file, string commonName, string[] roles, string[] dnsNames, IPAddress[] addresses)
    {
        using X509Certificate2 certificate = _ca.Issue(commonName, roles, dnsNames, addresses);
        return _ca.Write(certificate, Directory, file);
    }

    public void Dispose() => _ca.Dispose();
}
