using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Millisampler.Coordinator;
using Millisampler.Coordinator.Api;
using Millisampler.Coordinator.Storage;
using Millisampler.Lab.Certificates;
using Millisampler.ServiceDefaults.Security;

namespace Millisampler.Web.Tests.Infrastructure;

/// <summary>
/// The real coordinator as deployed: TLS with certificates from a throw-away CA, client certificates and bearer tokens
/// (a throw-away issuer key) for engineers, roles enforced; <see cref="PlantedRack"/> stored as one analysed capture.
/// </summary>
public sealed class SecureSeededCoordinator : IAsyncLifetime
{
    public const string CaptureId = SeededCoordinator.CaptureId;
    public const string Issuer = "https://idp.example";
    public const string Audience = "millisampler";

    private readonly ThrowAwayCa _ca = ThrowAwayCa.Create("Web tests CA");
    private readonly ECDsa _issuerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
    private readonly string _dir = Directory.CreateTempSubdirectory("ms-web-secure-").FullName;
    private WebApplication? _app;

    /// <summary>https://127.0.0.1:port of the JSON API and /ui/, no trailing slash.</summary>
    public string HttpUrl { get; private set; } = "";

    public async Task InitializeAsync()
    {
        using X509Certificate2 server = _ca.Issue("coordinator", [Roles.Coordinator], ["localhost"], [IPAddress.Loopback]);
        CertificateFiles files = _ca.Write(server, _dir, "coordinator");
        string issuer = Path.Combine(_dir, "issuer.pem");
        await File.WriteAllTextAsync(issuer, _issuerKey.ExportSubjectPublicKeyInfoPem());
        _app = CoordinatorApp.Build(
        [
            "--grpc-url", "https://127.0.0.1:0",
            "--http-url", "https://127.0.0.1:0",
            .. files.AsSettings(),
            "--db", Path.Combine(_dir, "captures.db"),
            $"--Coordinator:Jwt:Issuer={Issuer}",
            $"--Coordinator:Jwt:Audience={Audience}",
            $"--Coordinator:Jwt:SigningKeyPaths:0={issuer}",
            "--Logging:LogLevel:Default=Warning",
            "--Logging:LogLevel:Millisampler=Warning",
        ]);
        await _app.StartAsync();
        HttpUrl = $"https://127.0.0.1:{_app.Services.GetRequiredService<KestrelEndpoints>().HttpEndPoint!.Port}";

        ICaptureStore store = _app.Services.GetRequiredService<ICaptureStore>();
        long requested = (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() - 60_000) * 1_000_000;
        Contracts.V1.Capture capture = PlantedRack.Capture(CaptureId, requested);
        await store.InsertAsync(capture, CancellationToken.None);
        await store.SaveResultAsync(capture, PlantedRack.Runs(), CancellationToken.None);
    }

    /// <summary>A bearer token of the trusted issuer for <paramref name="user"/> with the role claim <paramref name="role"/>.</summary>
    public string Token(string user, string role) => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
    {
        Issuer = Issuer,
        Audience = Audience,
        Expires = DateTime.UtcNow.AddMinutes(30),
        Subject = new ClaimsIdentity([new Claim("sub", user), new Claim("roles", role)]),
        SigningCredentials = new SigningCredentials(new ECDsaSecurityKey(_issuerKey), SecurityAlgorithms.EcdsaSha256),
    });

    /// <summary>A client certificate from the coordinator's CA with <paramref name="roles"/>.</summary>
    public X509Certificate2 ClientCertificate(string name, params string[] roles) => _ca.Issue(name, roles);

    /// <summary>
    /// An HTTP client that trusts the throw-away CA (and only it) and presents <paramref name="certificate"/> when given.
    /// </summary>
    public HttpClient Client(X509Certificate2? certificate = null)
    {
        var handler = new SocketsHttpHandler();
        if (certificate is not null)
        {
            handler.SslOptions.ClientCertificates = [certificate];
        }

        X509Certificate2 ca = _ca.Certificate;
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) =>
        {
            if (cert is null)
            {
                return false;
            }

            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build(new X509Certificate2(cert));
        };
        return new HttpClient(handler) { BaseAddress = new Uri(HttpUrl) };
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        _issuerKey.Dispose();
        _ca.Dispose();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
