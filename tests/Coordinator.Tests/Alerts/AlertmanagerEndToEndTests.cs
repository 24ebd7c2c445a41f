using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Api;
using Millisampler.Coordinator.Captures;
using Millisampler.Coordinator.Tests.Captures;
using Millisampler.Coordinator.Tests.Infrastructure;
using Millisampler.Coordinator.Triggers;
using Millisampler.ServiceDefaults.Security;
using Xunit.Abstractions;

namespace Millisampler.Coordinator.Tests.Alerts;

/// <summary>
/// The real Alertmanager (Debian's prometheus-alertmanager) with a rule-free configuration: an alert posted to its API
/// is delivered to the coordinator's webhook, authenticated by a client certificate or a bearer token, and the rack
/// capture starts with origin ALERT and the alert's name.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class AlertmanagerEndToEndTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(40);

    private static string Alert(string name, string rack) => $$"""
        [{"labels":{"alertname":"{{name}}","rack":"{{rack}}","severity":"page"},
          "annotations":{"summary":"test alert","value":"42"},
          "startsAt":"{{DateTimeOffset.UtcNow:O}}"}]
        """;

    /// <summary>A gate that starts every submission's capture (the policy is the gate's own tests' business).</summary>
    private static Action<IServiceCollection> StartingGate() => s => s.AddSingleton<ITriggerGate>(sp => new FakeTriggerGate
    {
        Start = async (sub, ct) => (await sp.GetRequiredService<CaptureService>()
            .StartCaptureAsync(sub.Capture, ct, sub.RequestedBy, sub.Origin, sub.Name)).CaptureId,
    });

    [Fact]
    public async Task ClientCertificate_AlertDelivered_RackCaptureWithOriginAlert()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync(secure: true, databasePath: null, StartingGate());
        await c.AddAgentsAsync(2);
        await c.WaitForProbesAsync();
        Lab.Certificates.CertificateFiles cert = TestPki.Files("alertmanager", [Roles.Operator]);

        await using AlertmanagerServer am = await AlertmanagerServer.StartAsync(c.HttpUrl + JsonApi.AlertmanagerPath, _ => $"""
            tls_config:
              ca_file: '{cert.CaPath}'
              cert_file: '{cert.CertificatePath}'
              key_file: '{cert.KeyPath}'
              server_name: coordinator
            """, TimeSpan.FromSeconds(20));
        try
        {
            await am.PostAlertsAsync(Alert("RackCongested", "r1"));

            Capture[] captures = await WaitForAlertCapturesAsync(c, "RackCongested");

            Assert.All(captures, x =>
            {
                Assert.Equal("r1", x.Rack);
                Assert.Equal(CaptureOrigin.Alert, x.Origin);
                Assert.Equal("alertmanager", x.RequestedBy);
            });
            Assert.Contains(captures, x => x.Window == CaptureWindow.Forward);
            Capture forward = await c.WaitForEndAsync(captures.First(x => x.Window == CaptureWindow.Forward).CaptureId);
            Assert.Equal(CaptureState.Analysed, forward.State);
            Assert.Equal(2u, forward.HostsCovered);
        }
        catch
        {
            output.WriteLine("alertmanager log:\n" + am.Tail());
            throw;
        }
    }

    [Fact]
    public async Task BearerToken_CredentialsFile_AlertDelivered_ViewerTokenRefused()
    {
        using ECDsa issuerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        string keyPath = Path.Combine(TestPki.DirectoryPath, $"issuer-{Guid.NewGuid():N}.pem");
        await File.WriteAllTextAsync(keyPath, issuerKey.ExportSubjectPublicKeyInfoPem());
        await using TestCoordinator c = await TestCoordinator.StartAsync(secure: true, databasePath: null, StartingGate(),
            "--Coordinator:Jwt:Issuer=https://idp.example",
            "--Coordinator:Jwt:Audience=millisampler",
            $"--Coordinator:Jwt:SigningKeyPaths:0={keyPath}",
            "--Coordinator:Jwt:NameClaim=preferred_username");
        await c.AddAgentsAsync(2);
        await c.WaitForProbesAsync();
        string caPath = TestPki.Files("alertmanager", [Roles.Operator]).CaPath;

        string HttpConfig(string dir, string role)
        {
            string tokenPath = Path.Combine(dir, "token");
            File.WriteAllText(tokenPath, Token(issuerKey, "alertmanager-bot", role));
            return $"""
                authorization:
                  type: Bearer
                  credentials_file: '{tokenPath}'
                tls_config:
                  ca_file: '{caPath}'
                  server_name: coordinator
                """;
        }

        await using (AlertmanagerServer viewer = await AlertmanagerServer.StartAsync(c.HttpUrl + JsonApi.AlertmanagerPath,
            dir => HttpConfig(dir, Roles.Viewer), TimeSpan.FromSeconds(20)))
        {
            await viewer.PostAlertsAsync(Alert("ViewerCannot", "r1"));
            await WaitForLogAsync(viewer, "status code 403");
        }

        await using AlertmanagerServer am = await AlertmanagerServer.StartAsync(c.HttpUrl + JsonApi.AlertmanagerPath,
            dir => HttpConfig(dir, Roles.Operator), TimeSpan.FromSeconds(20));
        try
        {
            await am.PostAlertsAsync(Alert("RackCongested", "r1"));

            Capture[] captures = await WaitForAlertCapturesAsync(c, "RackCongested");

            Assert.All(captures, x => Assert.Equal("alertmanager-bot", x.RequestedBy));
            Assert.DoesNotContain((await c.Client.ListCapturesAsync(new ListCapturesRequest())).Captures, x => x.OriginName == "ViewerCannot");
        }
        catch
        {
            output.WriteLine("alertmanager log:\n" + am.Tail());
            throw;
        }
    }

    /// <summary>The captures of origin ALERT named <paramref name="name"/>, once the forward one exists.</summary>
    private static async Task<Capture[]> WaitForAlertCapturesAsync(TestCoordinator c, string name)
    {
        using var cts = new CancellationTokenSource(Deadline);
        while (true)
        {
            Capture[] found = [.. (await c.Client.ListCapturesAsync(new ListCapturesRequest(), cancellationToken: cts.Token)).Captures
                .Where(x => x.OriginName == name)];
            if (found.Any(x => x.Window == CaptureWindow.Forward))
            {
                return found;
            }

            await Task.Delay(100, cts.Token);
        }
    }

    private static async Task WaitForLogAsync(AlertmanagerServer am, string text)
    {
        using var cts = new CancellationTokenSource(Deadline);
        while (!am.Tail(400).Contains(text, StringComparison.Ordinal))
        {
            await Task.Delay(100, cts.Token);
        }
    }

    private static string Token(ECDsa key, string user, string role) =>
        new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "https://idp.example",
            Audience = "millisampler",
            Expires = DateTime.UtcNow.AddMinutes(30),
            Subject = new ClaimsIdentity([new Claim("sub", "id-" + user), new Claim("preferred_username", user), new Claim("roles", role)]),
            SigningCredentials = new SigningCredentials(new ECDsaSecurityKey(key), SecurityAlgorithms.EcdsaSha256),
        });
}
