using Grpc.Core;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Storage;

namespace Millisampler.Coordinator.Sweeps;

/// <summary>
/// The application service behind both APIs (gRPC SweepService and JSON /api/sweeps): sweep definitions and
/// reports. Every change to a sweep (create, pause, resume, delete) passes through this class, the one place where
/// the administrator role is to be required once roles exist.
/// </summary>
internal sealed class SweepService
{
    private readonly ISweepStore _store;
    private readonly SweepReporter _reporter;
    private readonly TimeProvider _time;

    public SweepService(ISweepStore store, SweepReporter reporter, TimeProvider time)
    {
        _store = store;
        _reporter = reporter;
        _time = time;
    }

    public async Task<Sweep> CreateAsync(CreateSweepRequest request, string requestedBy, CancellationToken cancellationToken)
    {
        SweepDefinition definition = SweepDefinitionValidator.Validate(request.Definition);
        long now = TimeNs.FromUnix(_time.GetUtcNow());
        var sweep = new Sweep { Definition = definition, CreatedAtUnixNs = now, UpdatedAtUnixNs = now, CreatedBy = requestedBy };
        if (!await _store.CreateSweepAsync(sweep, cancellationToken).ConfigureAwait(false))
        {
            throw new RpcException(new Status(StatusCode.AlreadyExists, $"sweep '{definition.Name}' exists; delete it first or choose another name"));
        }

        return sweep;
    }

    public async Task<ListSweepsResponse> ListAsync(CancellationToken cancellationToken)
    {
        var response = new ListSweepsResponse();
        response.Sweeps.AddRange(await _store.ListSweepsAsync(cancellationToken).ConfigureAwait(false));
        return response;
    }

    public async Task<Sweep> GetAsync(string name, CancellationToken cancellationToken) =>
        await _store.GetSweepAsync(RequireName(name), cancellationToken).ConfigureAwait(false) ?? throw NotFound(name);

    public async Task<Sweep> SetPausedAsync(string name, bool paused, CancellationToken cancellationToken) =>
        await _store.SetPausedAsync(RequireName(name), paused, cancellationToken).ConfigureAwait(false) ?? throw NotFound(name);

    public async Task DeleteAsync(string name, CancellationToken cancellationToken)
    {
        if (!await _store.DeleteSweepAsync(RequireName(name), cancellationToken).ConfigureAwait(false))
        {
            throw NotFound(name);
        }
    }

    public Task<SweepReport> ReportAsync(SweepReportRequest request, CancellationToken cancellationToken) =>
        _reporter.ReportAsync(request, cancellationToken);

    private static string RequireName(string name) => string.IsNullOrWhiteSpace(name)
        ? throw new RpcException(new Status(StatusCode.InvalidArgument, "name: required"))
        : name;

    private static RpcException NotFound(string name) => new(new Status(StatusCode.NotFound, $"no sweep named '{name}' (millisampler sweeps list)"));
}
