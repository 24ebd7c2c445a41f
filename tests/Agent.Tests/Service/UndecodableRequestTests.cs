using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Millisampler.Agent.Service;
using Millisampler.Contracts.V1;
using Millisampler.ServiceDefaults.Grpc;
using Millisampler.Tests.Fuzz;

namespace Millisampler.Agent.Tests.Service;

/// <summary>Requests that are not protobuf: INVALID_ARGUMENT, one short log line, no stack trace; and the default log levels.</summary>
public sealed class UndecodableRequestTests
{
    // A length-delimited field 1 declaring 2^35 bytes, then nothing: a truncated message.
    private static readonly byte[] Garbage = [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 0x01];

    [Fact]
    public async Task GarbageRequest_EveryMethod_InvalidArgumentAndOneShortLogLine()
    {
        // The framework's own levels left at their defaults: the test sees what a deployed agent would log.
        await using AgentTestHost agent = await AgentTestHost.StartAsync(["--Logging:LogLevel:Default=Information"]);
        CallInvoker invoker = agent.Channel.CreateCallInvoker();

        const int PerMethod = 20;
        int sent = AgentService.Descriptor.Methods.Count * PerMethod;
        foreach (var method in AgentService.Descriptor.Methods)
        {
            for (int i = 0; i < PerMethod; i++)
            {
                (StatusCode code, string detail) = await RawGrpc.CallAsync(invoker, method, Garbage);
                Assert.Equal(StatusCode.InvalidArgument, code);
                Assert.StartsWith($"request is not a valid {method.InputType.ClrType.Name}:", detail);
            }
        }

        var all = agent.Logs.All;
        Assert.Empty(FuzzRun.StackTraces(all.Select(e => (e.Category, e.Message, e.Exception))));
        // Every undecodable request within the log interval (the clock is fake and does not move): one line.
        var line = Assert.Single(all, e => e.Category == typeof(UndecodableRequests).FullName);
        Assert.Equal(LogLevel.Warning, line.Level);
        Assert.True(line.Message.Length < 300, line.Message);
        // The framework's per-request lines (Information and below) stay out of the log.
        Assert.DoesNotContain(all, e => e.Level < LogLevel.Warning && (e.Category.StartsWith("Grpc", StringComparison.Ordinal)
            || e.Category.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal)));
        Assert.Equal(sent, agent.Services.GetRequiredService<UndecodableRequests>().Total);

        // After the interval the next one is logged again, and says how many were not.
        agent.Time.Advance(UndecodableRequests.LogInterval);
        await RawGrpc.CallAsync(invoker, AgentService.Descriptor.Methods[0], Garbage);
        var lines = agent.Logs.All.Where(e => e.Category == typeof(UndecodableRequests).FullName).ToList();
        Assert.Equal(2, lines.Count);
        Assert.Contains($"{sent - 1} more since the last", lines[1].Message);
    }

    [Fact]
    public async Task LogLevels_FromAnotherDirectory_OwnEventsInformationFrameworkWarning()
    {
        string empty = Directory.CreateTempSubdirectory("ms-agent-root-").FullName;
        try
        {
            // The content root (where appsettings.json would be read) is an empty directory.
            await using WebApplication app = AgentApp.Build(["--Agent:Interfaces:0=eth0", "--Security:Insecure=true", $"--contentRoot={empty}"]);
            ILoggerFactory logs = app.Services.GetRequiredService<ILoggerFactory>();

            Assert.True(logs.CreateLogger("Millisampler.Agent.Schedule.RunArbiter").IsEnabled(LogLevel.Information));
            Assert.False(logs.CreateLogger("Microsoft.AspNetCore.Hosting.Diagnostics").IsEnabled(LogLevel.Information));
            Assert.False(logs.CreateLogger("Grpc.AspNetCore.Server.ServerCallHandler").IsEnabled(LogLevel.Information));
            Assert.True(logs.CreateLogger("Grpc.AspNetCore.Server.ServerCallHandler").IsEnabled(LogLevel.Warning));
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    [Fact]
    public async Task LogLevels_ConfigurationStillOverridesTheDefaults()
    {
        await using WebApplication app = AgentApp.Build(["--Agent:Interfaces:0=eth0", "--Security:Insecure=true", "--Logging:LogLevel:Grpc=Debug"]);

        Assert.True(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Grpc.AspNetCore.Server.ServerCallHandler").IsEnabled(LogLevel.Debug));
    }
}
