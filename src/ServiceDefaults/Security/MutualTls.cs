using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace Millisampler.ServiceDefaults.Security;

/// <summary>How a peer's certificate is judged beyond its chain: null to accept, or the reason to refuse.</summary>
public delegate string? PeerCheck(X509Certificate2 peer);

/// <summary>Mutual TLS on Kestrel endpoints and on outbound gRPC channels, from the reloading <see cref="TlsCertificates"/>.</summary>
public static class MutualTls
{
    /// <summary>TLS 1.2 and 1.3 only.</summary>
    public const SslProtocols Protocols = SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>
    /// Serves TLS on <paramref name="listen"/> with the current certificate (read per handshake, so a rotation is
    /// picked up). A client certificate is asked for; with <paramref name="requireClientCertificate"/> a client without
    /// one fails the handshake. A presented certificate must chain to the CA with client-auth usage and pass
    /// <paramref name="checkClient"/>, or the handshake fails.
    /// </summary>
    public static ListenOptions UseMutualTls(this ListenOptions listen, TlsCertificates certificates, bool requireClientCertificate,
        PeerCheck? checkClient = null)
    {
        ArgumentNullException.ThrowIfNull(listen);
        ArgumentNullException.ThrowIfNull(certificates);
        listen.UseHttps(new TlsHandshakeCallbackOptions
        {
            HandshakeTimeout = TimeSpan.FromSeconds(10),
            OnConnection = context =>
            {
                CertificateSet set = certificates.Current;
                return ValueTask.FromResult(new SslServerAuthenticationOptions
                {
                    ServerCertificateContext = set.ServerContext,
                    ClientCertificateRequired = true,
                    EnabledSslProtocols = Protocols,
                    CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                    RemoteCertificateValidationCallback = (_, certificate, chain, _) =>
                    {
                        if (certificate is null)
                        {
                            return !requireClientCertificate;
                        }

                        using X509Certificate2 peer = new(certificate);
                        return set.IsTrusted(peer, chain, CertificateSet.ClientAuthentication, out _) && checkClient?.Invoke(peer) is null;
                    },
                });
            },
        });
        return listen;
    }

    /// <summary>
    /// Client TLS for outbound calls: presents the current certificate (chosen per connection, so a rotation is used for
    /// new connections) and accepts a server only when its certificate chains to the CA with server-auth usage and
    /// passes <paramref name="checkServer"/>. The host name dialled is not compared with the certificate: the peer's
    /// identity (<paramref name="checkServer"/>) is what counts, since agents register IP addresses.
    /// </summary>
    public static SocketsHttpHandler UseMutualTls(this SocketsHttpHandler handler, TlsCertificates certificates, PeerCheck checkServer)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentNullException.ThrowIfNull(certificates);
        handler.SslOptions = new SslClientAuthenticationOptions
        {
            EnabledSslProtocols = Protocols,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            LocalCertificateSelectionCallback = (_, _, _, _, _) => certificates.Current.Certificate,
            RemoteCertificateValidationCallback = (_, certificate, chain, _) =>
            {
                if (certificate is null)
                {
                    return false;
                }

                using X509Certificate2 peer = new(certificate);
                return certificates.Current.IsTrusted(peer, chain, CertificateSet.ServerAuthentication, out _) && checkServer(peer) is null;
            },
        };
        return handler;
    }

    /// <summary>A check that accepts certificates holding <paramref name="role"/>.</summary>
    public static PeerCheck RequireRole(string role) => peer =>
        CertificateIdentity.RolesOf(peer).Contains(role) ? null : $"certificate '{CertificateIdentity.NameOf(peer)}' is not a {role} identity";
}
