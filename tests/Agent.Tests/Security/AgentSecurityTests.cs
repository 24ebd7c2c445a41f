using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using Millisampler.Agent.Service;
using Millisampler.Agent.Tests.Service;
using Millisampler.Contracts.V1;
using Millisampler.Lab.Certificates;
using Millisampler.ServiceDefaults.Security;

namespace Millisampler.Agent.Tests.Security;

/// <summary>The agent's gRPC server over mutual TLS: who may call it, and certificate rotation on disk without a restart.</summary>
public sealed class AgentSecurityTests : IDisposable
{
    private readonly ThrowAwayCa _ca = ThrowAwayCa.Create("agent tests CA");
    private readonly string _dir = Directory.CreateTempSubdirectory("ms-agent-pki-").FullName;

    [Fact]
    public async Task CoordinatorCertificate_Served_AgentRotatesCertificateOnDisk_NextHandshakeServesTheNewOne()
    {
        CertificateFiles files = AgentFiles("test-host");
        await using var agent = await AgentTestHost.StartAsync(Secure(files, "--Security:ReloadCheckInterval=00:00:00"));
        string first = await ServedThumbprintAsync(agent.Address, Client("coordinator", Roles.Coordinator));

        using X509Certificate2 next = _ca.Issue("test-host", [Roles.Agent], ["test-host"]);
        ThrowAwayCa.WriteCertificate(next, files.CertificatePath, files.KeyPath);
        string second = await ServedThumbprintAsync(agent.Address, Client("coordinator", Roles.Coordinator));

        Assert.NotEqual(first, second);
        Assert.Equal(next.Thumbprint, second);
    }

    [Fact]
    public async Task NoClientCertificate_HandshakeRefused_ClientSeesUnavailable()
    {
        await using var agent = await AgentTestHost.StartAsync(Secure(AgentFiles("test-host")));

        RpcException e = await Assert.ThrowsAsync<RpcException>(() => CallAsync(agent.Address, null));

        AssertRefusedByTransport(e);
    }

    [Fact]
    public async Task ClientCertificateOfAnAgentOrAnEngineer_HandshakeRefused_OnlyACoordinatorIsServed()
    {
        await using var agent = await AgentTestHost.StartAsync(Secure(AgentFiles("test-host")));

        RpcException asAgent = await Assert.ThrowsAsync<RpcException>(() => CallAsync(agent.Address, Client("host-3", Roles.Agent)));
        RpcException asAdmin = await Assert.ThrowsAsync<RpcException>(() => CallAsync(agent.Address, Client("alice", Roles.Admin)));
        AgentInfo info = await CallAsync(agent.Address, Client("coordinator", Roles.Coordinator));

        AssertRefusedByTransport(asAgent);
        AssertRefusedByTransport(asAdmin);
        Assert.Equal("test-host", info.Host);
    }

    [Fact]
    public async Task CoordinatorCertificateFromAnotherCa_HandshakeRefused()
    {
        await using var agent = await AgentTestHost.StartAsync(Secure(AgentFiles("test-host")));
        using var other = ThrowAwayCa.Create("another CA");
        CertificateFiles forged = other.Write(other.Issue("coordinator", [Roles.Coordinator], ["coordinator"]), Path.Combine(_dir, "other"), "coordinator");
        var handler = new SocketsHttpHandler().UseMutualTls(Source(forged), _ => null);
        handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;

        RpcException e = await Assert.ThrowsAsync<RpcException>(() => CallAsync(agent.Address, handler));

        AssertRefusedByTransport(e);
    }

    /// <summary>
    /// The connection was refused below gRPC: no status came from the server, the client's transport failed (its
    /// exception is attached). Under TLS 1.3 the server checks the client's certificate after the client has finished
    /// its side of the handshake, so the refusal reaches the client either while connecting (Unavailable) or as the
    /// connection dropping under the first request (Internal); CI saw both.
    /// </summary>
    private static void AssertRefusedByTransport(RpcException e)
    {
        Assert.Contains(e.StatusCode, new[] { StatusCode.Unavailable, StatusCode.Internal });
        Assert.NotNull(e.Status.DebugException);
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
            code = await AgentApp.RunAsync(["--Agent:Interfaces:0=eth0", "--Agent:Schedule:Enabled=false", $"--Agent:RunStore:Directory={_dir}"]);
        }
        finally
        {
            Console.SetError(original);
        }

        Assert.Equal(AgentApp.ExitBadConfiguration, code);
        string text = stderr.ToString();
        Assert.Contains("Security:CertificatePath", text);
        Assert.Contains("Security:KeyPath", text);
        Assert.Contains("Security:CaPath", text);
        Assert.Contains("Security:Insecure=true", text);
    }

    [Fact]
    public void ValidateConfiguration_CertificateNamingAnotherHostOrNotAnAgent_ErrorsSayWhy()
    {
        using var app = AgentApp.Build(["--Agent:Interfaces:0=eth0", "--Agent:Host=host-1", .. Files("coordinator", [Roles.Coordinator], ["host-3"]).AsSettings()]);

        var errors = AgentApp.ValidateConfiguration(app.Services);

        Assert.Contains(errors, e => e.Contains("not an agent certificate", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("names host-3, not Agent:Host 'host-1'", StringComparison.Ordinal));
    }

    [Fact]
    public void ValidateConfiguration_SecureModeWithPlaintextUrl_Refused()
    {
        using var app = AgentApp.Build(["--Agent:Interfaces:0=eth0", "--Agent:Host=test-host", "--urls=http://127.0.0.1:0", .. AgentFiles("test-host").AsSettings()]);

        var errors = AgentApp.ValidateConfiguration(app.Services);

        Assert.Contains(errors, e => e.StartsWith("urls: 'http://127.0.0.1:0' must use https://", StringComparison.Ordinal));
    }

    public void Dispose()
    {
        _ca.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private static string[] Secure(CertificateFiles files, params string[] extra) =>
        ["--urls=https://127.0.0.1:0", "--Security:Insecure=false", .. files.AsSettings(), .. extra];

    private CertificateFiles AgentFiles(string host) => Files(host, [Roles.Agent], [host]);

    private CertificateFiles Files(string name, string[] roles, string[] dns) =>
        _ca.Write(_ca.Issue(name, roles, dns), _dir, $"{name}-{Guid.NewGuid():N}");

    private static TlsCertificates Source(CertificateFiles files) =>
        new(Microsoft.Extensions.Options.Options.Create(new SecurityOptions
        {
            CertificatePath = files.CertificatePath,
            KeyPath = files.KeyPath,
            CaPath = files.CaPath,
        }), TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<TlsCertificates>.Instance);

    private SocketsHttpHandler Client(string name, string role) =>
        new SocketsHttpHandler().UseMutualTls(Source(Files(name, [role], [name])), MutualTls.RequireRole(Roles.Agent));

    private static async Task<AgentInfo> CallAsync(string address, SocketsHttpHandler? handler)
    {
        handler ??= new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true } };
        using var channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = handler });
        return await new AgentService.AgentServiceClient(channel).GetInfoAsync(new GetInfoRequest(), deadline: DateTime.UtcNow.AddSeconds(10));
    }

    /// <summary>Opens a new connection and returns the thumbprint of the certificate the agent served in its handshake.</summary>
    private static async Task<string> ServedThumbprintAsync(string address, SocketsHttpHandler handler)
    {
        string served = "";
        var validate = handler.SslOptions.RemoteCertificateValidationCallback!;
        handler.SslOptions.RemoteCertificateValidationCallback = (sender, certificate, chain, errors) =>
        {
            served = certificate is null ? "" : new X509Certificate2(certificate).Thumbprint;
            return validate(sender, certificate, chain, errors);
        };
        await CallAsync(address, handler);
        return served;
    }
}
