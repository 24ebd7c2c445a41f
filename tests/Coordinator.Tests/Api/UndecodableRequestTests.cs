using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Tests.Captures;
using Millisampler.Coordinator.Tests.Infrastructure;
using Millisampler.ServiceDefaults.Grpc;
using Millisampler.ServiceDefaults.Security;
using Millisampler.Tests.Fuzz;

namespace Millisampler.Coordinator.Tests.Api;

/// <summary>Requests that are not protobuf: INVALID_ARGUMENT, one short log line, no stack trace; and the default log levels.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class UndecodableRequestTests
{
    // A length-delimited field 1 declaring 2^35 bytes, then nothing: a truncated message.
    private static readonly byte[] Garbage = [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x01];

    [Fact]
    public async Task GarbageRequest_EveryMethodOfEveryService_InvalidArgumentNoStackTraceLogged()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync(null, "--Logging:LogLevel:Default=Information", "--Logging:LogLevel:Millisampler=Information");
        using GrpcChannel agent = c.OpenChannel("h01", Roles.Agent);
        int calls = 0;
        foreach ((GrpcChannel channel, Google.Protobuf.Reflection.ServiceDescriptor service) in new[]
                 {
                     (c.Channel, CoordinatorService.Descriptor), (agent, MembershipService.Descriptor), (c.Channel, SweepService.Descriptor),
                 })
        {
            foreach (var method in service.Methods)
            {
                (StatusCode code, string detail) = await RawGrpc.CallAsync(channel.CreateCallInvoker(), method, Garbage);
                Assert.True(code == StatusCode.InvalidArgument, $"{method.FullName}: {code} {detail}");
                Assert.StartsWith($"request is not a valid {method.InputType.ClrType.Name}:", detail);
                calls++;
            }
        }

        var all = c.Logs.All;
        Assert.Empty(FuzzRun.StackTraces(all.Select(e => (e.Category, e.Message, e.Exception))));
        var lines = all.Where(e => e.Category == typeof(UndecodableRequests).FullName).ToList();
        // Rate-limited: one line per interval (the run may straddle one boundary on a slow machine).
        Assert.InRange(lines.Count, 1, 2);
        Assert.All(lines, l => Assert.True(l.Message.Length < 300, l.Message));
        Assert.DoesNotContain(all, e => e.Level < LogLevel.Warning && (e.Category.StartsWith("Grpc", StringComparison.Ordinal)
            || e.Category.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal)));
        Assert.Equal(calls, c.App.Services.GetRequiredService<UndecodableRequests>().Total);
    }

    [Fact]
    public async Task LogLevels_FromAnotherDirectory_OwnEventsInformationFrameworkWarning()
    {
        string empty = Directory.CreateTempSubdirectory("ms-coordinator-root-").FullName;
        try
        {
            // The content root (where appsettings.json is read) is an empty directory.
            await using WebApplication app = CoordinatorApp.Build(["--Security:Insecure=true", $"--contentRoot={empty}"]);
            ILoggerFactory logs = app.Services.GetRequiredService<ILoggerFactory>();

            Assert.True(logs.CreateLogger("Millisampler.Coordinator.Captures.CaptureService").IsEnabled(LogLevel.Information));
            Assert.False(logs.CreateLogger("Microsoft.AspNetCore.Hosting.Diagnostics").IsEnabled(LogLevel.Information));
            Assert.False(logs.CreateLogger("Grpc.AspNetCore.Server.ServerCallHandler").IsEnabled(LogLevel.Information));
            Assert.True(logs.CreateLogger("Grpc.AspNetCore.Server.ServerCallHandler").IsEnabled(LogLevel.Warning));
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }
}
