using System.Data.Common;

namespace Millisampler.Coordinator.Storage;

internal abstract partial class SqlStore : IPinReleaseStore
{
    private const string PinReleaseSchema = """
        CREATE TABLE IF NOT EXISTS pin_releases (
            run_id TEXT NOT NULL,
            host TEXT NOT NULL,
            coordinator TEXT NOT NULL,
            since_unix_ns BIGINT NOT NULL,
            PRIMARY KEY (run_id, host)
        );
        """;

    public Task AddPinReleasesAsync(string runId, IReadOnlyCollection<string> hosts, CancellationToken cancellationToken) =>
        hosts.Count == 0
            ? Task.CompletedTask
            : WriteAsync((connection, tx) => InsertPinReleasesAsync(connection, tx, runId, hosts, cancellationToken), cancellationToken);

    public async Task<IReadOnlyList<PinRelease>> ListPinReleasesAsync(int limit, CancellationToken cancellationToken)
    {
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        await using DbConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using DbCommand cmd = Command(connection, null, """
            SELECT run_id, host, since_unix_ns FROM pin_releases WHERE coordinator = @me
            ORDER BY since_unix_ns, run_id, host LIMIT @limit;
            """);
        Add(cmd, "me", CoordinatorId);
        Add(cmd, "limit", (long)limit);
        var list = new List<PinRelease>();
        await using DbDataReader reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(new PinRelease(reader.GetString(0), reader.GetString(1), reader.GetInt64(2)));
        }

        return list;
    }

    public Task RemovePinReleaseAsync(string runId, string host, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, tx) =>
        {
            await using DbCommand cmd = Command(connection, tx, "DELETE FROM pin_releases WHERE run_id = @run AND host = @host;");
            Add(cmd, "run", runId);
            Add(cmd, "host", host);
            await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    private async Task InsertPinReleasesAsync(DbConnection connection, DbTransaction tx, string runId, IEnumerable<string> hosts,
        CancellationToken cancellationToken)
    {
        await using DbCommand cmd = Command(connection, tx, """
            INSERT INTO pin_releases (run_id, host, coordinator, since_unix_ns) VALUES (@run, @host, @me, @since)
            ON CONFLICT (run_id, host) DO NOTHING;
            """);
        Add(cmd, "run", runId);
        DbParameter host = Add(cmd, "host", "");
        Add(cmd, "me", CoordinatorId);
        Add(cmd, "since", NowNs());
        foreach (string h in hosts)
        {
            host.Value = h;
            await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
