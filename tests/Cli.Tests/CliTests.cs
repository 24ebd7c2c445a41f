using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Millisampler.Cli.Tests.Infrastructure;

namespace Millisampler.Cli.Tests;

public class CliTests
{
    [Fact]
    public async Task Capture_IntervalNotADuration_ExitsTwoWithOneLine()
    {
        CliResult r = await CliRun.RunAsync("capture", "--rack", "r1", "--interval", "3x");

        Assert.Equal(ExitCodes.Usage, r.ExitCode);
        Assert.Equal("error: --interval: '3x' must be a duration like 100us, 1ms, 10ms\n", r.Stderr.ReplaceLineEndings("\n"));
        Assert.Equal("", r.Stdout);
    }

    [Theory]
    [InlineData("error: --threshold: '1.5' must be a fraction of line rate in (0, 1], like 0.5", "capture", "--rack", "r1", "--threshold", "1.5")]
    [InlineData("error: --min-hosts: '1' must be a whole number of hosts, at least 2", "capture", "--rack", "r1", "--min-hosts", "1")]
    [InlineData("error: --samples: '0' must be a whole number from 1 to 2147483647", "capture", "--rack", "r1", "--samples", "0")]
    [InlineData("error: --output: 'yaml' must be table, json or csv", "captures", "show", "c1", "--output", "yaml")]
    [InlineData("error: --link-speed: 'fast' must be a rate like 10g, 25g, 100m (bits/s)", "analyze", ".", "--link-speed", "fast")]
    [InlineData("error: --since: 'yesterday' must be a duration like 30m, 1h, 2d", "captures", "list", "--since", "yesterday")]
    [InlineData("error: --coordinator: 'nowhere' must be a URL like https://127.0.0.1:7400", "racks", "--coordinator", "nowhere")]
    [InlineData("error: Option '--rack' is required.", "capture")]
    [InlineData("error: millisampler: a command is required: capture, racks, captures, export, analyze, sweeps, triggers, report, completion (see --help)")]
    [InlineData("error: millisampler captures: a command is required: list, show (see --help)", "captures")]
    public async Task BadInput_ExitsTwoWithTheProblemOnOneLine(string expected, params string[] args)
    {
        CliResult r = await CliRun.RunAsync(args);

        Assert.Equal(ExitCodes.Usage, r.ExitCode);
        Assert.Equal(expected, r.Stderr.TrimEnd());
        Assert.DoesNotContain("\n", r.Stderr.TrimEnd());
    }

    [Fact]
    public async Task CoordinatorVariableNotAUrl_ExitsTwoNamingTheVariable()
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var env = new CliEnvironment(stdout, stderr, GetEnvironmentVariable: n => n == "MILLISAMPLER_COORDINATOR" ? "foo" : null);

        int code = await Cli.RunAsync(["racks"], env, CancellationToken.None);

        Assert.Equal(ExitCodes.Usage, code);
        Assert.Equal("error: $MILLISAMPLER_COORDINATOR: 'foo' must be a URL like https://127.0.0.1:7400", stderr.ToString().TrimEnd());
    }

    [Fact]
    public async Task Racks_CoordinatorUnreachable_ExitsOneSayingWhere()
    {
        string url = $"http://127.0.0.1:{ClosedPort()}";
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        int code = await Cli.RunAsync(["racks", "--coordinator", url], stdout, stderr);

        Assert.Equal(ExitCodes.Failed, code);
        string error = stderr.ToString().TrimEnd();
        Assert.StartsWith($"error: cannot reach the coordinator at {url}: ", error);
        Assert.Contains("refused", error, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("\n", error);
        Assert.DoesNotContain("   at ", error);
    }

    [Fact]
    public async Task Racks_PointedAtAnHttp1Port_SaysToUseTheGrpcPort()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http1));
        await using WebApplication json = builder.Build();
        json.MapGet("/", () => "the JSON API");
        await json.StartAsync();
        string url = json.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();

        CliResult r = await CliRun.RunAsync("racks", "--coordinator", url);

        Assert.Equal(ExitCodes.Failed, r.ExitCode);
        Assert.StartsWith($"error: cannot reach the coordinator at {url}: ", r.Stderr);
        Assert.EndsWith("--coordinator needs the gRPC port", r.Stderr.TrimEnd());
    }

    [Fact]
    public async Task Help_PrintsCommandsToStdoutAndExitsZero()
    {
        CliResult r = await CliRun.RunAsync("--help");

        Assert.Equal(ExitCodes.Ok, r.ExitCode);
        foreach (string command in new[] { "capture", "racks", "captures", "export", "analyze" })
        {
            Assert.Contains(command, r.Stdout);
        }
    }

    // A port nothing listens on: bound by the OS, then released.
    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
