using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Millisampler.Agent.Storage;
using Millisampler.Benchmarks;
using Millisampler.Contracts.V1;

namespace Millisampler.Agent.Tests.Storage;

/// <summary>Small runs and stores for the storage tests.</summary>
internal static class StoreTestRuns
{
    /// <summary>2025-06-15 12:00 UTC as unix ns; runs in the tests start around it.</summary>
    public static readonly DateTimeOffset Now = new(2025, 6, 15, 12, 0, 0, TimeSpan.Zero);

    public static long NowNs => (Now - DateTimeOffset.UnixEpoch).Ticks * 100;

    public const long Second = 1_000_000_000;

    public const long Day = 86_400 * Second;

    /// <summary>A small run (100 bins) with realistic series.</summary>
    public static Run Small(string runId, long startTaiNs, long binWidthNs = 1_000_000, RunOrigin origin = RunOrigin.Coordinator, int seed = 1)
    {
        var run = StoreSyntheticRuns.Realistic(runId, seed, bins: 100, binWidthNs: binWidthNs, startTaiNs: startTaiNs);
        run.Origin = origin;
        return run;
    }

    /// <summary>Opens a store; pins last a year unless <paramref name="pinExpiryMinutes"/> says otherwise, so pin tests see no lapse.</summary>
    public static RunStore Open(string directory, TimeProvider? time = null, ILogger<RunStore>? logger = null, int retentionDays = 3, long maxTotalBytes = 1L << 30,
        int pinExpiryMinutes = 525_600) =>
        new(Options.Create(new RunStoreOptions { Directory = directory, RetentionDays = retentionDays, MaxTotalBytes = maxTotalBytes, PinExpiryMinutes = pinExpiryMinutes }),
            time ?? new FakeTimeProvider(Now),
            logger ?? new FakeLogger<RunStore>());

    public static string[] RunFiles(string directory) =>
        Directory.GetFiles(directory, "*.run").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;

    /// <summary>Protobuf equality, with a readable diff on failure.</summary>
    public static void AssertSameRun(Run expected, Run? actual)
    {
        Assert.NotNull(actual);
        if (!expected.Equals(actual))
        {
            Assert.Equal(JsonFormatter.Default.Format(expected), JsonFormatter.Default.Format(actual));
        }
    }
}
