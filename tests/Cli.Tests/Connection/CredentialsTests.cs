using System.Net;
using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Millisampler.Cli.Tests.Infrastructure;
using Millisampler.Coordinator;
using Millisampler.Coordinator.Api;
using Millisampler.Lab.Certificates;
using Millisampler.ServiceDefaults.Security;

namespace Millisampler.Cli.Tests.Connection;

/// <summary>
/// The real coordinator, secure (mutual TLS, JWT from a configured issuer key), on loopback; the CLI reaches it
/// with --cert/--key/--ca, with --token-file, with the environment variables, or is refused with one clear line.
/// </summary>
public sealed class CredentialsTests : IClassFixture<CredentialsTests.SecureCoordinator>
{
    private readonly SecureCoordinator _c;

    public CredentialsTests(SecureCoordinator coordinator) => _c = coordinator;

    [Fact]
    public async Task Racks_OperatorCertificate_Succeeds()
    {
        CliResult r = await CliRun.RunAsync(["racks", "-o", "json", "--coordinator", _c.Url, .. _c.Operator.AsCli()]);

        Assert.Equal("", r.Stderr);
        Assert.Equal(ExitCodes.Ok, r.ExitCode);
        Assert.Contains("\"racks\"", r.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Racks_CredentialsFromEnvironment_Succeeds()
    {
        var variables = new Dictionary<string, string>
        {
            [CliEnvironment.CoordinatorVariable] = _c.Url,
            [CliEnvironment.CertificateVariable] = _c.Operator.CertificatePath,
            [CliEnvironment.KeyVariable] = _c.Operator.KeyPath,
            [CliEnvironment.CaVariable] = _c.Operator.CaPath,
        };

        CliResult r = await RunWithEnvironmentAsync(variables, "racks");

        Assert.Equal("", r.Stderr);
        Assert.Equal(ExitCodes.Ok, r.ExitCode);
    }

    [Fact]
    public async Task Capture_ViewerCertificate_PermissionDenied()
    {
        CliResult r = await CliRun.RunAsync(["capture", "--rack", "r1", "--coordinator", _c.Url, .. _c.Viewer.AsCli()]);

        Assert.Equal(ExitCodes.Failed, r.ExitCode);
        Assert.StartsWith("error: PermissionDenied:", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Token_ViewerReads_ViewerCannotCapture_OperatorPassesAuthorization()
    {
        string viewer = _c.TokenFile("vic", "viewer", _c.IssuerKey);
        string op = _c.TokenFile("olga", "operator", _c.IssuerKey);

        CliResult read = await CliRun.RunAsync("racks", "--coordinator", _c.Url, "--ca", _c.Operator.CaPath, "--token-file", viewer);
        CliResult denied = await CliRun.RunAsync("capture", "--rack", "r1", "--coordinator", _c.Url, "--ca", _c.Operator.CaPath, "--token-file", viewer);
        CliResult started = await CliRun.RunAsync("capture", "--rack", "nowhere", "--coordinator", _c.Url, "--ca", _c.Operator.CaPath, "--token-file", op);

        Assert.Equal(ExitCodes.Ok, read.ExitCode);
        Assert.StartsWith("error: PermissionDenied:", denied.Stderr, StringComparison.Ordinal);
        // Authorized: the coordinator looked at the request itself and found no such rack.
        Assert.Equal(ExitCodes.Failed, started.ExitCode);
        Assert.DoesNotContain("PermissionDenied", started.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("UNAUTHENTICATED", started.Stderr, StringComparison.Ordinal);
        Assert.Contains("nowhere", started.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoCredentials_Refused_SayingWhatToGive()
    {
        CliResult r = await CliRun.RunAsync("racks", "--coordinator", _c.Url, "--ca", _c.Operator.CaPath);

        Assert.Equal(ExitCodes.Failed, r.ExitCode);
        Assert.Equal("error: UNAUTHENTICATED: the coordinator requires credentials: --cert and --key (or $MILLISAMPLER_CERT/$MILLISAMPLER_KEY), or --token-file ($MILLISAMPLER_TOKEN_FILE)",
            r.Stderr.TrimEnd());
    }

    [Fact]
    public async Task ForgedOrExpiredToken_Refused()
    {
        using ECDsa forger = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        string forged = _c.TokenFile("eve", "admin", forger);
        string expired = _c.TokenFile("old", "admin", _c.IssuerKey, DateTime.UtcNow.AddMinutes(-10));

        CliResult a = await CliRun.RunAsync("racks", "--coordinator", _c.Url, "--ca", _c.Operator.CaPath, "--token-file", forged);
        CliResult b = await CliRun.RunAsync("racks", "--coordinator", _c.Url, "--ca", _c.Operator.CaPath, "--token-file", expired);

        Assert.Equal(ExitCodes.Failed, a.ExitCode);
        Assert.StartsWith("error: UNAUTHENTICATED: the coordinator did not accept the credentials given", a.Stderr, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Failed, b.ExitCode);
        Assert.StartsWith("error: UNAUTHENTICATED: the coordinator did not accept the credentials given", b.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CoordinatorCertificateNotTrusted_WithoutCa_AndWithAnotherCa_SaysWhy()
    {
        using ThrowAwayCa other = ThrowAwayCa.Create("someone else's CA");
        string otherCa = Path.Combine(_c.Directory, $"other-ca-{Guid.NewGuid():N}.pem");
        other.WriteCaPem(otherCa);

        CliResult noCa = await CliRun.RunAsync("racks", "--coordinator", _c.Url, "--cert", _c.Operator.CertificatePath, "--key", _c.Operator.KeyPath);
        CliResult wrongCa = await CliRun.RunAsync("racks", "--coordinator", _c.Url, "--cert", _c.Operator.CertificatePath, "--key", _c.Operator.KeyPath, "--ca", otherCa);

        Assert.Equal(ExitCodes.Failed, noCa.ExitCode);
        Assert.Contains("the coordinator's certificate 'coordinator' is not trusted by this machine; name its CA with --ca", noCa.Stderr, StringComparison.Ordinal);
        Assert.Equal(ExitCodes.Failed, wrongCa.ExitCode);
        Assert.Contains($"the coordinator's certificate 'coordinator' does not chain to --ca '{otherCa}'", wrongCa.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CoordinatorCertificateNamesAnotherHost_Refused()
    {
        // The certificate names 127.0.0.1 and localhost; 127.0.0.2 reaches the same coordinator through a relay.
        await using var forward = LoopbackRelay.Start(IPAddress.Parse("127.0.0.2"), _c.Port);

        CliResult r = await CliRun.RunAsync(["racks", "--coordinator", $"https://127.0.0.2:{forward.Port}", .. _c.Operator.AsCli()]);

        Assert.Equal(ExitCodes.Failed, r.ExitCode);
        Assert.Contains("the coordinator's certificate 'coordinator' does not name 127.0.0.2", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CertificateFromAnotherCa_CoordinatorRefusesTheHandshake()
    {
        using ThrowAwayCa other = ThrowAwayCa.Create("someone else's CA");
        using var stranger = other.Issue("mallory", [Roles.Admin]);
        CertificateFiles files = other.Write(stranger, Path.Combine(_c.Directory, "other-" + Guid.NewGuid().ToString("N")), "mallory");

        CliResult r = await CliRun.RunAsync("racks", "--coordinator", _c.Url, "--cert", files.CertificatePath, "--key", files.KeyPath, "--ca", _c.Operator.CaPath);

        Assert.Equal(ExitCodes.Failed, r.ExitCode);
        Assert.Equal($"error: cannot reach the coordinator at {_c.Url}: the coordinator refused the TLS handshake: is the certificate given with --cert issued by a CA it trusts, and not expired?",
            r.Stderr.TrimEnd());
    }

    [Fact]
    public async Task BadFiles_ExitTwoNamingTheOptionAndTheFile()
    {
        string empty = Path.Combine(_c.Directory, $"empty-{Guid.NewGuid():N}.jwt");
        await File.WriteAllTextAsync(empty, "\n");
        string notPem = Path.Combine(_c.Directory, $"not-pem-{Guid.NewGuid():N}.pem");
        await File.WriteAllTextAsync(notPem, "hello\n");

        var cases = new (string Expected, string[] Args)[]
        {
            ("error: --cert: '/nonexistent/me.pem' does not exist", ["--cert", "/nonexistent/me.pem", "--key", _c.Operator.KeyPath]),
            ("error: --key: '/nonexistent/me-key.pem' does not exist", ["--cert", _c.Operator.CertificatePath, "--key", "/nonexistent/me-key.pem"]),
            ("error: --key: a key needs its certificate (--cert or $MILLISAMPLER_CERT)", ["--key", _c.Operator.KeyPath]),
            ($"error: --cert: '{_c.Operator.CertificatePath}' holds no private key or no certificate; give the key with --key", ["--cert", _c.Operator.CertificatePath]),
            ($"error: --ca: '{notPem}' holds no PEM certificate (-----BEGIN CERTIFICATE-----)", ["--ca", notPem]),
            ($"error: --token-file: '{empty}' is empty; it must hold one bearer token (a JWT)", ["--token-file", empty]),
            ($"error: --ca: '{_c.Directory}' is a directory, not a file", ["--ca", _c.Directory]),
        };
        foreach ((string expected, string[] args) in cases)
        {
            CliResult r = await CliRun.RunAsync(["racks", "--coordinator", _c.Url, .. args]);

            Assert.Equal(ExitCodes.Usage, r.ExitCode);
            Assert.Equal(expected, r.Stderr.TrimEnd());
        }
    }

    [Fact]
    public async Task KeyFileNotMatchingTheCertificate_ExitsTwoNamingBoth()
    {
        CliResult r = await CliRun.RunAsync("racks", "--coordinator", _c.Url, "--cert", _c.Operator.CertificatePath, "--key", _c.Viewer.KeyPath);

        Assert.Equal(ExitCodes.Usage, r.ExitCode);
        Assert.StartsWith($"error: --cert/--key: cannot load the certificate '{_c.Operator.CertificatePath}' with the key '{_c.Viewer.KeyPath}'", r.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TokenOverCleartext_Refused_BeforeSending()
    {
        string token = _c.TokenFile("vic", "viewer", _c.IssuerKey);
        var variables = new Dictionary<string, string> { [CliEnvironment.TokenFileVariable] = token };

        CliResult r = await RunWithEnvironmentAsync(variables, "racks", "--coordinator", "http://127.0.0.1:1");

        Assert.Equal(ExitCodes.Usage, r.ExitCode);
        Assert.Equal("error: $MILLISAMPLER_TOKEN_FILE: credentials need an https:// coordinator, and 'http://127.0.0.1:1' is cleartext http://", r.Stderr.TrimEnd());
    }

    private static async Task<CliResult> RunWithEnvironmentAsync(Dictionary<string, string> variables, params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var env = new CliEnvironment(stdout, stderr, GetEnvironmentVariable: n => variables.GetValueOrDefault(n));
        int code = await Cli.RunAsync(args, env, CancellationToken.None);
        return new CliResult(code, stdout.ToString(), stderr.ToString());
    }

    /// <summary>A coordinator with certificates from a throw-away CA and a JWT issuer key; engineers' files beside it.</summary>
    public sealed class SecureCoordinator : IAsyncLifetime
    {
        private readonly ThrowAwayCa _ca = ThrowAwayCa.Create("CLI tests CA");
        private WebApplication? _app;

        public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("ms-cli-pki-").FullName;

        public ECDsa IssuerKey { get; } = ECDsa.Create(ECCurve.NamedCurves.nistP256);

        public CertificateFiles Operator { get; private set; } = null!;

        public CertificateFiles Viewer { get; private set; } = null!;

        public int Port { get; private set; }

        public string Url => $"https://127.0.0.1:{Port}";

        public async Task InitializeAsync()
        {
            using var coordinatorCert = _ca.Issue("coordinator", [Roles.Coordinator], ["localhost"], [IPAddress.Loopback]);
            CertificateFiles coordinator = _ca.Write(coordinatorCert, Directory, "coordinator");
            using var op = _ca.Issue("alice", [Roles.Operator]);
            Operator = _ca.Write(op, Directory, "alice");
            using var viewer = _ca.Issue("victor", [Roles.Viewer]);
            Viewer = _ca.Write(viewer, Directory, "victor");
            string issuer = Path.Combine(Directory, "issuer.pem");
            await File.WriteAllTextAsync(issuer, IssuerKey.ExportSubjectPublicKeyInfoPem());
            _app = CoordinatorApp.Build(
            [
                "--grpc-url", "https://127.0.0.1:0",
                "--http-url", "https://127.0.0.1:0",
                .. coordinator.AsSettings(),
                "--db", Path.Combine(Directory, "captures.db"),
                "--Coordinator:Jwt:Issuer=https://idp.example",
                "--Coordinator:Jwt:Audience=millisampler",
                $"--Coordinator:Jwt:SigningKeyPaths:0={issuer}",
                "--Logging:LogLevel:Default=Warning",
                "--Logging:LogLevel:Millisampler=Warning",
            ]);
            Assert.Empty(CoordinatorApp.ValidateConfiguration(_app.Services));
            await _app.StartAsync();
            Port = _app.Services.GetRequiredService<KestrelEndpoints>().GrpcEndPoint!.Port;
        }

        /// <summary>Writes a token for <paramref name="user"/> with <paramref name="role"/>, signed by <paramref name="key"/>; returns its path.</summary>
        public string TokenFile(string user, string role, ECDsa key, DateTime? expires = null)
        {
            DateTime until = expires ?? DateTime.UtcNow.AddMinutes(10);
            string token = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
            {
                Issuer = "https://idp.example",
                Audience = "millisampler",
                NotBefore = until.AddMinutes(-30),
                IssuedAt = until.AddMinutes(-30),
                Expires = until,
                Subject = new ClaimsIdentity([new Claim("sub", user), new Claim("roles", role)]),
                SigningCredentials = new SigningCredentials(new ECDsaSecurityKey(key), SecurityAlgorithms.EcdsaSha256),
            });
            string path = Path.Combine(Directory, $"{user}-{Guid.NewGuid():N}.jwt");
            File.WriteAllText(path, token + "\n");
            return path;
        }

        public async Task DisposeAsync()
        {
            if (_app is not null)
            {
                await _app.StopAsync();
                await _app.DisposeAsync();
            }

            IssuerKey.Dispose();
            _ca.Dispose();
            try
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}

/// <summary>--cert, --key, --ca for these files.</summary>
internal static class CertificateFilesCli
{
    public static string[] AsCli(this CertificateFiles f) => ["--cert", f.CertificatePath, "--key", f.KeyPath, "--ca", f.CaPath];
}

/// <summary>Relays TCP connections from <c>address:port-chosen</c> to 127.0.0.1:<c>target</c>, bytes unchanged.</summary>
internal sealed class LoopbackRelay : IAsyncDisposable
{
    private readonly System.Net.Sockets.TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    private LoopbackRelay(System.Net.Sockets.TcpListener listener, int target)
    {
        _listener = listener;
        _accepting = AcceptAsync(target);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public static LoopbackRelay Start(IPAddress address, int target)
    {
        var listener = new System.Net.Sockets.TcpListener(address, 0);
        listener.Start();
        return new LoopbackRelay(listener, target);
    }

    private async Task AcceptAsync(int target)
    {
        try
        {
            while (true)
            {
                System.Net.Sockets.TcpClient inbound = await _listener.AcceptTcpClientAsync(_stop.Token);
                _ = RelayAsync(inbound, target);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
        }
    }

    private async Task RelayAsync(System.Net.Sockets.TcpClient inbound, int target)
    {
        using (inbound)
        using (var outbound = new System.Net.Sockets.TcpClient())
        {
            try
            {
                await outbound.ConnectAsync(IPAddress.Loopback, target, _stop.Token);
                Stream a = inbound.GetStream();
                Stream b = outbound.GetStream();
                await Task.WhenAny(a.CopyToAsync(b, _stop.Token), b.CopyToAsync(a, _stop.Token));
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or System.Net.Sockets.SocketException)
            {
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }
}
