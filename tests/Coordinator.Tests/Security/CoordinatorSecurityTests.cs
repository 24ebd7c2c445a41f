using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Membership;
using Millisampler.Coordinator.Tests.Captures;
using Millisampler.Coordinator.Tests.Infrastructure;
using Millisampler.ServiceDefaults.Security;

namespace Millisampler.Coordinator.Tests.Security;

/// <summary>
/// The attacks of issue 8 against a real coordinator over mutual TLS: each must fail for the attacker and leave the
/// rack's truth intact.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class CoordinatorSecurityTests
{
    [Fact]
    public async Task Register_AsAnotherHostWithOwnCertificate_PermissionDenied_AndHostKeepsItsAddress()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync();
        IReadOnlyList<FakeAgent> agents = await c.AddAgentsAsync(3, rack: "r1");
        FakeAgent host1 = agents[0], host3 = agents[2];
        using GrpcChannel attacker = c.OpenChannel(host3.Host, Roles.Agent);
        var membership = new MembershipService.MembershipServiceClient(attacker);

        var hijack = new RegisterRequest { Host = host1.Host, Rack = "r1", Address = host3.Address, AgentVersion = "evil" };
        RpcException register = await Assert.ThrowsAsync<RpcException>(() => membership.RegisterAsync(hijack).ResponseAsync);
        RpcException heartbeat = await Assert.ThrowsAsync<RpcException>(() =>
            membership.HeartbeatAsync(new HeartbeatRequest { Host = host1.Host, Rack = "r1" }).ResponseAsync);

        Assert.Equal(StatusCode.PermissionDenied, register.StatusCode);
        Assert.Contains($"'{host1.Host}'", register.Status.Detail);
        Assert.Equal(StatusCode.PermissionDenied, heartbeat.StatusCode);
        HostState? state = c.App.Services.GetRequiredService<MembershipRegistry>().Find(host1.Host);
        Assert.NotNull(state);
        Assert.Equal(host1.Address, state.Address);
        Assert.NotEqual("evil", state.AgentVersion);
    }

    [Fact]
    public async Task Register_OwnHostAtAnotherAgentsAddress_CaptureNeverTakesTheOtherAgentsSeries()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync();
        IReadOnlyList<FakeAgent> agents = await c.AddAgentsAsync(3, rack: "r1");
        FakeAgent host1 = agents[0], host3 = agents[2];

        // host-1's own, valid identity points at host-3's agent: the coordinator must not accept host-3's certificate as host-1.
        await host1.RegisterAsync(c.GrpcUrl, address: host3.Address);
        Capture done = await c.WaitForEndAsync((await c.Client.StartCaptureAsync(TestCoordinator.ShortCapture())).CaptureId);

        HostOutcome outcome = Assert.Single(done.Hosts, h => h.Host == host1.Host);
        Assert.NotEqual(HostOutcomeKind.HostOutcomeCollected, outcome.Outcome);
        Assert.Empty(host1.ScheduleCalls);
        Assert.Equal(2u, done.HostsCovered);
    }

    [Fact]
    public async Task NoClientCertificate_Unauthenticated_OnReadsAndCaptures()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync();
        await c.AddAgentsAsync(1);
        using GrpcChannel anonymous = c.OpenChannel(null);
        var client = new CoordinatorService.CoordinatorServiceClient(anonymous);

        RpcException start = await Assert.ThrowsAsync<RpcException>(() => client.StartCaptureAsync(TestCoordinator.ShortCapture()).ResponseAsync);
        RpcException read = await Assert.ThrowsAsync<RpcException>(() => client.ListRacksAsync(new ListRacksRequest()).ResponseAsync);
        RpcException register = await Assert.ThrowsAsync<RpcException>(() => new MembershipService.MembershipServiceClient(anonymous)
            .RegisterAsync(new RegisterRequest { Host = "h01", Rack = "r1", Address = "127.0.0.1:1" }).ResponseAsync);

        Assert.Equal(StatusCode.Unauthenticated, start.StatusCode);
        Assert.Equal(StatusCode.Unauthenticated, read.StatusCode);
        Assert.Equal(StatusCode.Unauthenticated, register.StatusCode);
        using var http = new HttpClient(TestPki.Handler(null)) { BaseAddress = new Uri(c.HttpUrl) };
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("/api/racks")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/healthz")).StatusCode);
    }

    [Fact]
    public async Task CertificateFromAnotherCa_HandshakeRefused()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync();
        using var otherCa = Lab.Certificates.ThrowAwayCa.Create("someone else's CA");
        using var stranger = otherCa.Issue("mallory", [Roles.Admin], ["mallory"]);
        var handler = new SocketsHttpHandler();
        handler.SslOptions.ClientCertificates = [stranger];
        handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        using GrpcChannel channel = GrpcChannel.ForAddress(c.GrpcUrl, new GrpcChannelOptions { HttpHandler = handler });

        RpcException e = await Assert.ThrowsAsync<RpcException>(() =>
            new CoordinatorService.CoordinatorServiceClient(channel).ListRacksAsync(new ListRacksRequest()).ResponseAsync);

        // Refused below gRPC: the client's transport failed (Unavailable while connecting, or Internal when TLS 1.3's
        // late certificate check drops the connection under the first request), and no status came from the server.
        Assert.Contains(e.StatusCode, new[] { StatusCode.Unavailable, StatusCode.Internal });
        Assert.NotNull(e.Status.DebugException);
    }

    [Fact]
    public async Task Viewer_ReadsButStartCapturePermissionDenied_OperatorStarts_RequestedByRecorded()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync();
        await c.AddAgentsAsync(2);
        using GrpcChannel viewerChannel = c.OpenChannel("vera", Roles.Viewer);
        using GrpcChannel operatorChannel = c.OpenChannel("oscar", Roles.Operator);
        var viewer = new CoordinatorService.CoordinatorServiceClient(viewerChannel);
        var op = new CoordinatorService.CoordinatorServiceClient(operatorChannel);

        Assert.Single((await viewer.ListRacksAsync(new ListRacksRequest())).Racks);
        RpcException denied = await Assert.ThrowsAsync<RpcException>(() => viewer.StartCaptureAsync(TestCoordinator.ShortCapture()).ResponseAsync);
        Capture started = await op.StartCaptureAsync(TestCoordinator.ShortCapture());
        Capture done = await c.WaitForEndAsync(started.CaptureId);

        Assert.Equal(StatusCode.PermissionDenied, denied.StatusCode);
        Assert.Equal("oscar", started.RequestedBy);
        Assert.Equal(CaptureOrigin.Engineer, started.Origin);
        Assert.Equal("oscar", done.RequestedBy);
        using HttpResponseMessage json = await c.Http.GetAsync($"/api/captures/{started.CaptureId}");
        using JsonDocument doc = JsonDocument.Parse(await json.Content.ReadAsStringAsync());
        Assert.Equal("oscar", doc.RootElement.GetProperty("requestedBy").GetString());
    }

    [Fact]
    public async Task Sweeps_OperatorReadsButCannotCreateOrPause_AgentCannotRead()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync();
        using GrpcChannel operatorChannel = c.OpenChannel("oscar", Roles.Operator);
        using GrpcChannel agentChannel = c.OpenChannel("h42", Roles.Agent);
        var op = new SweepService.SweepServiceClient(operatorChannel);
        var definition = new SweepDefinition
        {
            Name = "nightly",
            Racks = new SweepRacks { Pattern = "r*" },
            Widths = { new SweepWidth { BinWidthNs = 1_000_000, Bins = 100 } },
            PeriodNs = 3_600_000_000_000,
        };

        RpcException create = await Assert.ThrowsAsync<RpcException>(() =>
            op.CreateSweepAsync(new CreateSweepRequest { Definition = definition }).ResponseAsync);
        RpcException pause = await Assert.ThrowsAsync<RpcException>(() => op.PauseSweepAsync(new SweepName { Name = "nightly" }).ResponseAsync);
        RpcException agentRead = await Assert.ThrowsAsync<RpcException>(() =>
            new SweepService.SweepServiceClient(agentChannel).ListSweepsAsync(new ListSweepsRequest()).ResponseAsync);
        Assert.Empty((await op.ListSweepsAsync(new ListSweepsRequest())).Sweeps);
        await new SweepService.SweepServiceClient(c.Channel).CreateSweepAsync(new CreateSweepRequest { Definition = definition });

        Assert.Equal(StatusCode.PermissionDenied, create.StatusCode);
        Assert.Equal(StatusCode.PermissionDenied, pause.StatusCode);
        Assert.Equal(StatusCode.PermissionDenied, agentRead.StatusCode);
        Assert.Single((await op.ListSweepsAsync(new ListSweepsRequest())).Sweeps);
    }

    [Fact]
    public async Task AgentCertificate_CannotReadOrCapture_AndViewerCannotRegister()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync();
        using GrpcChannel agentChannel = c.OpenChannel("h42", Roles.Agent);
        using GrpcChannel viewerChannel = c.OpenChannel("h43", Roles.Viewer);

        RpcException read = await Assert.ThrowsAsync<RpcException>(() =>
            new CoordinatorService.CoordinatorServiceClient(agentChannel).ListRacksAsync(new ListRacksRequest()).ResponseAsync);
        RpcException register = await Assert.ThrowsAsync<RpcException>(() => new MembershipService.MembershipServiceClient(viewerChannel)
            .RegisterAsync(new RegisterRequest { Host = "h43", Rack = "r1", Address = "127.0.0.1:1" }).ResponseAsync);

        Assert.Equal(StatusCode.PermissionDenied, read.StatusCode);
        Assert.Equal(StatusCode.PermissionDenied, register.StatusCode);
    }

    [Fact]
    public async Task BearerTokens_RolesFromClaims_ViewerDenied_OperatorStarts_ExpiredAndForeignRefused()
    {
        using ECDsa issuerKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        string keyPath = Path.Combine(TestPki.DirectoryPath, $"issuer-{Guid.NewGuid():N}.pem");
        await File.WriteAllTextAsync(keyPath, issuerKey.ExportSubjectPublicKeyInfoPem());
        await using TestCoordinator c = await TestCoordinator.StartAsync(null,
            "--Coordinator:Jwt:Issuer=https://idp.example",
            "--Coordinator:Jwt:Audience=millisampler",
            $"--Coordinator:Jwt:SigningKeyPaths:0={keyPath}",
            "--Coordinator:Jwt:NameClaim=preferred_username",
            "--Coordinator:Jwt:RoleMappings:netops-oncall=operator");
        await c.AddAgentsAsync(2);
        using GrpcChannel channel = c.OpenChannel(null);
        var client = new CoordinatorService.CoordinatorServiceClient(channel);

        Metadata Bearer(string user, string role, ECDsa? key = null, DateTime? expires = null) =>
            new() { { "Authorization", "Bearer " + Token(key ?? issuerKey, user, role, expires ?? DateTime.UtcNow.AddMinutes(10)) } };

        RpcException viewer = await Assert.ThrowsAsync<RpcException>(() =>
            client.StartCaptureAsync(TestCoordinator.ShortCapture(), Bearer("vic", "viewer")).ResponseAsync);
        Assert.Single((await client.ListRacksAsync(new ListRacksRequest(), Bearer("vic", "viewer"))).Racks);
        using ECDsa forger = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        RpcException forged = await Assert.ThrowsAsync<RpcException>(() =>
            client.ListRacksAsync(new ListRacksRequest(), Bearer("eve", "admin", forger)).ResponseAsync);
        RpcException expired = await Assert.ThrowsAsync<RpcException>(() =>
            client.ListRacksAsync(new ListRacksRequest(), Bearer("old", "admin", expires: DateTime.UtcNow.AddMinutes(-10))).ResponseAsync);
        Capture started = await client.StartCaptureAsync(TestCoordinator.ShortCapture(), Bearer("olga", "netops-oncall"));
        await c.WaitForEndAsync(started.CaptureId);

        Assert.Equal(StatusCode.PermissionDenied, viewer.StatusCode);
        Assert.Equal(StatusCode.Unauthenticated, forged.StatusCode);
        Assert.Equal(StatusCode.Unauthenticated, expired.StatusCode);
        Assert.Equal("olga", started.RequestedBy);
    }

    [Fact]
    public async Task RunAsync_NoCertificatesConfigured_RefusesToStart_NamingTheSettings()
    {
        var stderr = new StringWriter();
        TextWriter original = Console.Error;
        Console.SetError(stderr);
        int code;
        try
        {
            code = await CoordinatorApp.RunAsync(["--grpc-url", "https://127.0.0.1:0", "--http-url", "https://127.0.0.1:0",
                "--db", Path.Combine(TestPki.DirectoryPath, "never.db")]);
        }
        finally
        {
            Console.SetError(original);
        }

        Assert.Equal(2, code);
        string text = stderr.ToString();
        Assert.Contains("Security:CertificatePath", text);
        Assert.Contains("Security:KeyPath", text);
        Assert.Contains("Security:CaPath", text);
        Assert.Contains("Security:Insecure=true", text);
        Assert.False(File.Exists(Path.Combine(TestPki.DirectoryPath, "never.db")));
    }

    [Fact]
    public async Task ValidateConfiguration_AgentCertificateForTheCoordinator_Refused()
    {
        Lab.Certificates.CertificateFiles agent = TestPki.Files("h77", [Roles.Agent]);
        await using var app = CoordinatorApp.Build([.. agent.AsSettings()]);

        IReadOnlyList<string> errors = CoordinatorApp.ValidateConfiguration(app.Services);

        Assert.Contains(errors, e => e.StartsWith("Security:CertificatePath:", StringComparison.Ordinal) && e.Contains("not a coordinator certificate", StringComparison.Ordinal));
    }

    private static string Token(ECDsa key, string user, string role, DateTime expires) =>
        new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "https://idp.example",
            Audience = "millisampler",
            NotBefore = expires.AddMinutes(-30),
            IssuedAt = expires.AddMinutes(-30),
            Expires = expires,
            Subject = new ClaimsIdentity([new Claim("sub", "id-" + user), new Claim("preferred_username", user), new Claim("roles", role)]),
            SigningCredentials = new SigningCredentials(new ECDsaSecurityKey(key), SecurityAlgorithms.EcdsaSha256),
        });
}
