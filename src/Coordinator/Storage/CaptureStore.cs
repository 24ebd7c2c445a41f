using Google.Protobuf;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;

namespace Millisampler.Coordinator.Storage;

/// <summary>
/// Captures, their per-host runs and their analysis in SQLite. Each row keeps the protobuf message as a blob (the
/// wire format is the schema, so fields added to the contracts are stored without a migration) next to indexed
/// columns for the queries: rack, request time, state. Every write is one transaction; writes are serialized,
/// reads run concurrently (WAL).
/// </summary>
internal sealed partial class CaptureStore : IDisposable
{
    private const int SchemaVersion = 1;

    private readonly string _connectionString;
    private readonly StorageOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<CaptureStore> _logger;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly SemaphoreSlim _initLock = new(1, 1);
    private volatile bool _initialized;

    public CaptureStore(IOptions<StorageOptions> options, TimeProvider time, ILogger<CaptureStore> logger)
    {
        _options = options.Value;
        _time = time;
        _logger = logger;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path.GetFullPath(_options.DatabasePath),
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    /// <summary>Number of captures this start found unfinished and marked failed.</summary>
    public int InterruptedAtStart { get; private set; }

    /// <summary>
    /// Creates the schema when missing and marks captures a previous process left unfinished as failed: their
    /// agents' runs may still exist, but nothing is waiting for them any more. Idempotent; every other method calls it.
    /// </summary>
    public async Task EnsureInitializedAsync(CancellationToken cancellationToken)
    {
        if (_initialized)
        {
            return;
        }

        await _initLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_initialized)
            {
                return;
            }

            string? directory = Path.GetDirectoryName(Path.GetFullPath(_options.DatabasePath));
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }

            await using SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(connection, null, "PRAGMA journal_mode=WAL;", cancellationToken).ConfigureAwait(false);
            await using (SqliteTransaction tx = connection.BeginTransaction())
            {
                await ExecuteAsync(connection, tx, """
                    CREATE TABLE IF NOT EXISTS captures (
                        capture_id TEXT PRIMARY KEY,
                        rack TEXT NOT NULL,
                        state INTEGER NOT NULL,
                        requested_at_unix_ns INTEGER NOT NULL,
                        start_tai_ns INTEGER NOT NULL,
                        completed_at_unix_ns INTEGER NOT NULL,
                        capture BLOB NOT NULL,
                        analysis BLOB
                    );
                    CREATE INDEX IF NOT EXISTS captures_by_rack_time ON captures (rack, requested_at_unix_ns);
                    CREATE INDEX IF NOT EXISTS captures_by_time ON captures (requested_at_unix_ns);
                    CREATE INDEX IF NOT EXISTS captures_by_state ON captures (state);
                    CREATE TABLE IF NOT EXISTS capture_runs (
                        capture_id TEXT NOT NULL REFERENCES captures (capture_id) ON DELETE CASCADE,
                        host TEXT NOT NULL,
                        run BLOB NOT NULL,
                        PRIMARY KEY (capture_id, host)
                    ) WITHOUT ROWID;
                    """, cancellationToken).ConfigureAwait(false);
                await ExecuteAsync(connection, tx, $"PRAGMA user_version = {SchemaVersion};", cancellationToken).ConfigureAwait(false);
                InterruptedAtStart = await FailInterruptedAsync(connection, tx, cancellationToken).ConfigureAwait(false);
                await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
            }

            LogStoreOpened(_logger, _options.DatabasePath, InterruptedAtStart);
            _initialized = true;
        }
        finally
        {
            _initLock.Release();
        }
    }

    /// <summary>Inserts a new capture (queued or scheduled).</summary>
    public Task InsertAsync(Capture capture, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, tx) =>
        {
            await using SqliteCommand cmd = connection.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = """
                INSERT INTO captures (capture_id, rack, state, requested_at_unix_ns, start_tai_ns, completed_at_unix_ns, capture)
                VALUES ($id, $rack, $state, $requested, $start, $completed, $capture);
                """;
            BindCapture(cmd, capture);
            await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>Updates a capture's state and host outcomes (not its analysis or runs).</summary>
    public Task UpdateAsync(Capture capture, CancellationToken cancellationToken) =>
        WriteAsync((connection, tx) => UpdateCaptureAsync(connection, tx, capture, cancellationToken), cancellationToken);

    /// <summary>Stores a finished capture: its final state, its analysis (if any) and every run, in one transaction.</summary>
    public Task SaveResultAsync(Capture capture, IReadOnlyCollection<Run> runs, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, tx) =>
        {
            await UpdateCaptureAsync(connection, tx, capture, cancellationToken).ConfigureAwait(false);
            await using SqliteCommand cmd = connection.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "INSERT OR REPLACE INTO capture_runs (capture_id, host, run) VALUES ($id, $host, $run);";
            SqliteParameter id = cmd.Parameters.Add("$id", SqliteType.Text);
            SqliteParameter host = cmd.Parameters.Add("$host", SqliteType.Text);
            SqliteParameter blob = cmd.Parameters.Add("$run", SqliteType.Blob);
            id.Value = capture.CaptureId;
            foreach (Run run in runs)
            {
                host.Value = run.Host;
                blob.Value = run.ToByteArray();
                await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await PurgeExpiredAsync(connection, tx, cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    /// <summary>A capture, with its analysis when <paramref name="includeAnalysis"/>; null when unknown.</summary>
    public async Task<Capture?> GetAsync(string captureId, bool includeAnalysis, CancellationToken cancellationToken)
    {
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        await using SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using SqliteCommand cmd = connection.CreateCommand();
        cmd.CommandText = includeAnalysis
            ? "SELECT capture, analysis FROM captures WHERE capture_id = $id;"
            : "SELECT capture, NULL FROM captures WHERE capture_id = $id;";
        cmd.Parameters.AddWithValue("$id", captureId);
        await using SqliteDataReader reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadCapture(reader) : null;
    }

    /// <summary>Captures newest first, without analysis, filtered by rack (empty = all) and request time [from, to) in unix ns (0 = unbounded).</summary>
    public async Task<IReadOnlyList<Capture>> ListAsync(string rack, long fromUnixNs, long toUnixNs, int limit,
        CancellationToken cancellationToken)
    {
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        await using SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using SqliteCommand cmd = connection.CreateCommand();
        cmd.CommandText = """
            SELECT capture, NULL FROM captures
            WHERE ($rack = '' OR rack = $rack)
              AND requested_at_unix_ns >= $from
              AND ($to = 0 OR requested_at_unix_ns < $to)
            ORDER BY requested_at_unix_ns DESC, capture_id DESC
            LIMIT $limit;
            """;
        cmd.Parameters.AddWithValue("$rack", rack);
        cmd.Parameters.AddWithValue("$from", fromUnixNs);
        cmd.Parameters.AddWithValue("$to", toUnixNs);
        cmd.Parameters.AddWithValue("$limit", limit);
        var list = new List<Capture>();
        await using SqliteDataReader reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(ReadCapture(reader));
        }

        return list;
    }

    /// <summary>The stored runs of a capture, sorted by host; only <paramref name="hosts"/> when not empty.</summary>
    public async Task<IReadOnlyList<Run>> GetRunsAsync(string captureId, IReadOnlyCollection<string> hosts,
        CancellationToken cancellationToken)
    {
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        await using SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using SqliteCommand cmd = connection.CreateCommand();
        cmd.CommandText = "SELECT host, run FROM capture_runs WHERE capture_id = $id ORDER BY host;";
        cmd.Parameters.AddWithValue("$id", captureId);
        var wanted = hosts.Count == 0 ? null : new HashSet<string>(hosts, StringComparer.Ordinal);
        var runs = new List<Run>();
        await using SqliteDataReader reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (wanted is null || wanted.Contains(reader.GetString(0)))
            {
                runs.Add(Run.Parser.ParseFrom((byte[])reader.GetValue(1)));
            }
        }

        return runs;
    }

    public void Dispose()
    {
        // Close pooled connections so the file can be moved or deleted once the process is done with it.
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
        _writeLock.Dispose();
        _initLock.Dispose();
    }

    private async Task WriteAsync(Func<SqliteConnection, SqliteTransaction, Task> write, CancellationToken cancellationToken)
    {
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using SqliteConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            await using SqliteTransaction tx = connection.BeginTransaction();
            await write(connection, tx).ConfigureAwait(false);
            await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private static async Task UpdateCaptureAsync(SqliteConnection connection, SqliteTransaction tx, Capture capture,
        CancellationToken cancellationToken)
    {
        await using SqliteCommand cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = """
            UPDATE captures SET state = $state, start_tai_ns = $start, completed_at_unix_ns = $completed,
                capture = $capture, analysis = COALESCE($analysis, analysis)
            WHERE capture_id = $id;
            """;
        BindCapture(cmd, capture);
        cmd.Parameters.Add("$analysis", SqliteType.Blob).Value = capture.Analysis is null ? DBNull.Value : capture.Analysis.ToByteArray();
        if (await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) != 1)
        {
            throw new InvalidOperationException($"Capture {capture.CaptureId} is not in the store.");
        }
    }

    private static void BindCapture(SqliteCommand cmd, Capture capture)
    {
        // The analysis has its own column: listing captures must not parse every capture's analysis.
        Capture withoutAnalysis = capture.Clone();
        withoutAnalysis.Analysis = null;
        cmd.Parameters.AddWithValue("$id", capture.CaptureId);
        cmd.Parameters.AddWithValue("$rack", capture.Rack);
        cmd.Parameters.AddWithValue("$state", (int)capture.State);
        cmd.Parameters.AddWithValue("$requested", capture.RequestedAtUnixNs);
        cmd.Parameters.AddWithValue("$start", capture.StartTaiNs);
        cmd.Parameters.AddWithValue("$completed", capture.CompletedAtUnixNs);
        cmd.Parameters.Add("$capture", SqliteType.Blob).Value = withoutAnalysis.ToByteArray();
    }

    private static Capture ReadCapture(SqliteDataReader reader)
    {
        Capture capture = Capture.Parser.ParseFrom((byte[])reader.GetValue(0));
        if (!reader.IsDBNull(1))
        {
            capture.Analysis = CaptureAnalysis.Parser.ParseFrom((byte[])reader.GetValue(1));
        }

        return capture;
    }

    private async Task<int> FailInterruptedAsync(SqliteConnection connection, SqliteTransaction tx, CancellationToken cancellationToken)
    {
        var interrupted = new List<Capture>();
        await using (SqliteCommand select = connection.CreateCommand())
        {
            select.Transaction = tx;
            select.CommandText = "SELECT capture, NULL FROM captures WHERE state NOT IN ($analysed, $failed);";
            select.Parameters.AddWithValue("$analysed", (int)CaptureState.Analysed);
            select.Parameters.AddWithValue("$failed", (int)CaptureState.Failed);
            await using SqliteDataReader reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                interrupted.Add(ReadCapture(reader));
            }
        }

        long now = _time.UnixNowNs();
        foreach (Capture c in interrupted)
        {
            c.State = CaptureState.Failed;
            c.Detail = "the coordinator stopped before this capture completed";
            c.CompletedAtUnixNs = now;
            foreach (HostOutcome h in c.Hosts.Where(h => h.Outcome is HostOutcomeKind.HostOutcomePending or HostOutcomeKind.HostOutcomeScheduled))
            {
                h.Outcome = HostOutcomeKind.HostOutcomeFailed;
                h.Reason = "not collected: the coordinator stopped";
            }

            await UpdateCaptureAsync(connection, tx, c, cancellationToken).ConfigureAwait(false);
        }

        return interrupted.Count;
    }

    private async Task PurgeExpiredAsync(SqliteConnection connection, SqliteTransaction tx, CancellationToken cancellationToken)
    {
        if (_options.RetentionDays <= 0)
        {
            return;
        }

        long cutoff = TimeNs.FromUnix(_time.GetUtcNow() - TimeSpan.FromDays(_options.RetentionDays));
        await using SqliteCommand cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "DELETE FROM captures WHERE requested_at_unix_ns < $cutoff;";
        cmd.Parameters.AddWithValue("$cutoff", cutoff);
        int deleted = await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        if (deleted > 0)
        {
            LogPurged(_logger, deleted, _options.RetentionDays);
        }
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null, "PRAGMA foreign_keys = ON;", cancellationToken).ConfigureAwait(false);
        return connection;
    }

    private static async Task ExecuteAsync(SqliteConnection connection, SqliteTransaction? tx, string sql, CancellationToken cancellationToken)
    {
        await using SqliteCommand cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
