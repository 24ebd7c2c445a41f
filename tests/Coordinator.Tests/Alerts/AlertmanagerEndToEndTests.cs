using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Api;
using Millisampler.Coordinator.Storage;
using Millisampler.Coordinator.Tests.Captures;
using Millisampler.Coordinator.Tests.Infrastructure;
using Millisampler.ServiceDefaults.Security;
using Xunit.Abstractions;

namespace Millisampler.Coordinator.Tests.Alerts;

/// <summary>
/// The real Alertmanager (Debian's prometheus-alertmanager) with a rule-free configuration: an alert posted to its API
/// is delivered to the coordinator's webhook, authenticated by a client certificate or a bearer token, and the real
/// trigger gate starts the rack capture with origin ALERT and the alert's name; a later delivery of the same group
/// (the first alert again and a second one) starts no further capture.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class AlertmanagerEndToEndTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(40);

    /// <summary>What Alertmanager logs (debug) when a delivery was answered 2xx: the webhook has decided every alert in it.</summary>
    private const string NotifySuccess = "msg=\"Notify success\"";

    private static string Alert(string name, string rack, string instance = "h01:9100") => $$"""
        [{"labels":{"alertname":"{{name}}","rack":"{{rack}}","instance":"{{instance}}","severity":"page"},
          "annotations":{"summary":"test alert","value":"42"},
          "startsAt":"{{DateTimeOffset.UtcNow:O}}"}]
        """;

    [Fact]
    public async Task ClientCertificate_AlertDelivered_RackCaptureWithOriginAlert()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync();
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

            // A second alert of the same group: Alertmanager delivers the group again (both alerts) after group_interval.
            // The first alert's captures are joined, the second is the same event or within the rack's cooldown.
            await WaitForLogAsync(am, NotifySuccess, count: 1);
            int decided = (await AlertDecisionsAsync(c)).Count;
            await am.PostAlertsAsync(Alert("RackCongested", "r1", instance: "h02:9100"));
            await WaitForLogAsync(am, NotifySuccess, count: 2);
            IReadOnlyList<TriggerRecord> later = await AlertDecisionsAsync(c);

            Assert.All(later.Skip(decided), r => Assert.NotEqual(TriggerDecision.Fired, r.Decision));

            // Each record keeps the alert as Alertmanager sent it: its fingerprint (16 hex digits) and labels.
            Assert.All(later, r =>
            {
                Assert.Matches("^[0-9a-f]{16}$", r.AlertFingerprint);
                Assert.Equal("RackCongested", r.AlertLabels["alertname"]);
                Assert.Equal("r1", r.AlertLabels["rack"]);
            });
            Assert.Equal(2, later.Select(r => r.AlertFingerprint).Distinct().Count()); // two alerts (the second has an instance label)
            Assert.Contains(later.Skip(decided), r => r.Decision == TriggerDecision.Joined);
            Assert.Equal(captures.Length, (await c.Client.ListCapturesAsync(new ListCapturesRequest())).Captures.Count(x => x.OriginName == "RackCongested"));
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
        await using TestCoordinator c = await TestCoordinator.StartAsync(null,
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

    /// <summary>The trigger gate's stored decisions for alerts, oldest first.</summary>
    private static async Task<IReadOnlyList<TriggerRecord>> AlertDecisionsAsync(TestCoordinator c) =>
        [.. (await c.App.Services.GetRequiredService<ITriggerStore>().ListTriggersAsync("r1", 0, 1000, CancellationToken.None))
            .Where(r => r.Origin == CaptureOrigin.Alert).OrderBy(r => r.ReceivedAtUnixNs)];

    /// <summary>Waits until Alertmanager's log holds <paramref name="text"/> <paramref name="count"/> times.</summary>
    private static async Task WaitForLogAsync(AlertmanagerServer am, string text, int count = 1)
    {
        using var cts = new CancellationTokenSource(Deadline);
        while (am.LogCount(text) < count)
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
