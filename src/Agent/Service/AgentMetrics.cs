using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using Millisampler.Agent.Clock;
using Millisampler.Agent.Sampling;
using Millisampler.Agent.Schedule;
using Millisampler.Agent.Storage;

namespace Millisampler.Agent.Service;

/// <summary>
/// What the agent's gauges read, taken when Prometheus scrapes (or the OTLP reader collects): hooks from the
/// kernel, the clock's state, the run store's size and the kernel program's diagnostics counters. Registered with
/// <see cref="Observability"/> while the host runs.
/// </summary>
internal sealed class AgentMetrics(IRunEngine engine, HostClock clock, RunStore store) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        Observability.Register(this);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Observability.Unregister(this);
        return Task.CompletedTask;
    }

    public IEnumerable<Measurement<int>> Hooks() => engine.CheckHooks().Select(h => new Measurement<int>(h.Attached ? 1 : 0,
        new KeyValuePair<string, object?>("interface", h.Interface),
        new KeyValuePair<string, object?>("direction", h.Direction),
        new KeyValuePair<string, object?>("attach_mode", h.AttachMode)));

    public IEnumerable<Measurement<int>> ClockSynchronized() => [new(clock.ReadState(engine.ClockSource).Synchronized ? 1 : 0)];

    public IEnumerable<Measurement<double>> ClockMaxError() => [new(clock.ReadState(engine.ClockSource).MaxErrorNs / 1e9)];

    public IEnumerable<Measurement<double>> ClockEstimatedError() => [new(clock.ReadState(engine.ClockSource).EstimatedErrorNs / 1e9)];

    public IEnumerable<Measurement<long>> StoreBytes() => [new(store.TotalBytes)];

    public IEnumerable<Measurement<long>> StoreRuns() => [new(store.Count)];

    public IEnumerable<Measurement<long>> StorePins() => [new(store.PinnedCount)];

    public IEnumerable<Measurement<long>> Kernel(Func<KernelDiagnostics, ulong> counter) => [new((long)counter(engine.ReadDiagnostics()))];
}
