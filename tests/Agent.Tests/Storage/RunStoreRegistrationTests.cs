using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Millisampler.Agent.Storage;
using static Millisampler.Agent.Tests.Storage.StoreTestRuns;

namespace Millisampler.Agent.Tests.Storage;

public sealed class RunStoreRegistrationTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void AddRunStore_BindsSectionAndDefaults()
    {
        using var provider = Build(new() { ["Directory"] = _dir.Path, ["MaxTotalBytes"] = "5000000" });

        var options = provider.GetRequiredService<IOptions<RunStoreOptions>>().Value;
        var store = provider.GetRequiredService<RunStore>();

        Assert.Equal(_dir.Path, options.Directory);
        Assert.Equal(5_000_000, options.MaxTotalBytes);
        Assert.Equal(3, options.RetentionDays);
        Assert.Equal(300, options.RetentionIntervalSeconds);
        Assert.Equal(_dir.Path, store.Directory);
        Assert.Same(store, provider.GetRequiredService<RunStore>());
    }

    [Fact]
    public void AddRunStore_InvalidOptions_FailAtStartListingEveryError()
    {
        using var provider = Build(new() { ["Directory"] = "", ["RetentionDays"] = "0", ["MaxTotalBytes"] = "10", ["RetentionIntervalSeconds"] = "0" });

        var e = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        foreach (string field in new[] { "Directory", "RetentionDays", "MaxTotalBytes", "RetentionIntervalSeconds" })
        {
            Assert.Contains(e.Failures, f => f.Contains(field, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task RetentionService_RunsAtStartThenOnEachTickOfTheInjectedClock()
    {
        var time = new FakeTimeProvider(Now);
        using var provider = Build(new() { ["Directory"] = _dir.Path, ["RetentionDays"] = "1", ["RetentionIntervalSeconds"] = "60" }, time);
        var store = provider.GetRequiredService<RunStore>();
        await store.SaveAsync(Small("expired-before-start", NowNs - (2 * Day)), CancellationToken.None);
        var service = provider.GetServices<IHostedService>().Single(s => s is RunStoreRetentionService);

        await service.StartAsync(CancellationToken.None);
        try
        {
            await WaitUntil(() => store.Count == 0);
            await store.SaveAsync(Small("expired-after-start", NowNs - (2 * Day)), CancellationToken.None);

            await Task.Delay(200);
            time.Advance(TimeSpan.FromSeconds(59));
            await Task.Delay(200);
            Assert.Equal(1, store.Count); // No pass until the fake clock reaches the next tick.

            time.Advance(TimeSpan.FromSeconds(1));
            await WaitUntil(() => store.Count == 0);
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
        }
    }

    private static ServiceProvider Build(Dictionary<string, string?> settings, TimeProvider? time = null)
    {
        var section = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        if (time is not null)
        {
            services.AddSingleton<TimeProvider>(time);
        }

        services.AddRunStore(section);
        return services.BuildServiceProvider();
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "condition not met within 10 s");
            await Task.Delay(10);
        }
    }
}
