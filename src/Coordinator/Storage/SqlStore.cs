using System.Data;
using System.Data.Common;
using Google.Protobuf;
using Microsoft.Extensions.Options;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;
using Millisampler.Coordinator.Membership;

namespace Millisampler.Coordinator.Storage;

/// <summary>
/// The SQL both databases share: every query and write of captures, runs, sweeps, summaries and leases, written
/// once in the common dialect (<c>@name</c> parameters, <c>INSERT ... ON CONFLICT</c>, <c>LIMIT</c>). A subclass
/// supplies the connection, the schema's column types and whether writes must be serialized in-process.
/// Each row keeps the protobuf message as a blob (the wire format is the schema, so fields added to the contracts
/// are stored without a migration) next to indexed columns for the queries. Every write is one transaction.
/// </summary>
internal abstract partial class SqlStore : ICaptureStore, ILeaseStore, ISweepStore, IPinReleaseStore, ITriggerStore, IDisposable
{
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly SemaphoreSlim _initLock = new(1, 1);
    private volatile bool _initialized;

    protected SqlStore(StorageOptions options, string coordinatorId, TimeProvider time, ILogger logger)
    {
        Options = options;
        CoordinatorId = coordinatorId;
        Time = time;
        Logger = logger;
    }

    protected StorageOptions Options { get; }

    /// <summary>This coordinator, recorded on its captures so a restart fails only its own unfinished ones.</summary>
    protected string CoordinatorId { get; }

    protected TimeProvider Time { get; }

    protected ILogger Logger { get; }

    /// <summary>Where the data lives, for logs (never with a password).</summary>
    protected abstract string Description { get; }

    /// <summary>Column type of protobuf blobs (BLOB, BYTEA).</summary>
    protected abstract string BlobType { get; }

    /// <summary>True when the database allows one writer at a time (SQLite): writes then queue in-process instead of timing out.</summary>
    protected abstract bool SerializeWrites { get; }

    public int InterruptedAtStart { get; private set; }

    protected abstract Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>Runs once before the schema transaction (SQLite: its directory and journal mode).</summary>
    protected virtual Task PrepareDatabaseAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Runs before the schema is created, inside its transaction (SQLite: nothing; Postgres: a lock so two coordinators starting together do not race).</summary>
    protected abstract Task PrepareSchemaAsync(DbConnection connection, DbTransaction tx, CancellationToken cancellationToken);

    /// <summary>Adds <paramref name="column"/> to <paramref name="table"/> when an older schema lacks it.</summary>
    protected abstract Task AddColumnIfMissingAsync(DbConnection connection, DbTransaction tx, string table, string column,
        string definition, CancellationToken cancellationToken);

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

            await PrepareDatabaseAsync(cancellationToken).ConfigureAwait(false);
            await using DbConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            await using DbTransaction tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            await PrepareSchemaAsync(connection, tx, cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(connection, tx, Schema(BlobType), cancellationToken).ConfigureAwait(false);
            await AddColumnIfMissingAsync(connection, tx, "captures", "coordinator", "TEXT NOT NULL DEFAULT ''", cancellationToken).ConfigureAwait(false);
            InterruptedAtStart = await FailInterruptedAsync(connection, tx, cancellationToken).ConfigureAwait(false);
            await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
            LogStoreOpened(Logger, Description, InterruptedAtStart);
            _initialized = true;
        }
        finally
        {
            _initLock.Release();
        }
    }

    private static string Schema(string blob) => $"""
        CREATE TABLE IF NOT EXISTS captures (
            capture_id TEXT PRIMARY KEY,
            rack TEXT NOT NULL,
            state INTEGER NOT NULL,
            requested_at_unix_ns BIGINT NOT NULL,
            start_tai_ns BIGINT NOT NULL,
            completed_at_unix_ns BIGINT NOT NULL,
            capture {blob} NOT NULL,
            analysis {blob}
        );
        CREATE INDEX IF NOT EXISTS captures_by_rack_time ON captures (rack, requested_at_unix_ns);
        CREATE INDEX IF NOT EXISTS captures_by_time ON captures (requested_at_unix_ns);
        CREATE INDEX IF NOT EXISTS captures_by_state ON captures (state);
        CREATE TABLE IF NOT EXISTS capture_runs (
            capture_id TEXT NOT NULL REFERENCES captures (capture_id) ON DELETE CASCADE,
            host TEXT NOT NULL,
            run {blob} NOT NULL,
            PRIMARY KEY (capture_id, host)
        );
        CREATE TABLE IF NOT EXISTS leases (
            name TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            expires_unix_ns BIGINT NOT NULL
        );
        {SweepSchema(blob)}
        {PinReleaseSchema}
        {TriggerSchema(blob)}
        """;

    public Task InsertAsync(Capture capture, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, tx) =>
        {
            await using DbCommand cmd = Command(connection, tx, """
                INSERT INTO captures (capture_id, rack, state, requested_at_unix_ns, start_tai_ns, completed_at_unix_ns, capture, coordinator)
                VALUES (@id, @rack, @state, @requested, @start, @completed, @capture, @coordinator);
                """);
            BindCapture(cmd, capture);
            Add(cmd, "coordinator", CoordinatorId);
            await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public Task UpdateAsync(Capture capture, CancellationToken cancellationToken) =>
        WriteAsync((connection, tx) => UpdateCaptureAsync(connection, tx, capture, cancellationToken), cancellationToken);

    public Task SaveResultAsync(Capture capture, IReadOnlyCollection<Run> runs, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, tx) =>
        {
            await UpdateCaptureAsync(connection, tx, capture, cancellationToken).ConfigureAwait(false);
            await using DbCommand cmd = Command(connection, tx, """
                INSERT INTO capture_runs (capture_id, host, run) VALUES (@id, @host, @run)
                ON CONFLICT (capture_id, host) DO UPDATE SET run = excluded.run;
                """);
            Add(cmd, "id", capture.CaptureId);
            DbParameter host = Add(cmd, "host", "");
            DbParameter blob = Add(cmd, "run", Array.Empty<byte>());
            foreach (Run run in runs)
            {
                host.Value = run.Host;
                blob.Value = run.ToByteArray();
                await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await PurgeExpiredAsync(connection, tx, cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public async Task<Capture?> GetAsync(string captureId, bool includeAnalysis, CancellationToken cancellationToken)
    {
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        await using DbConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using DbCommand cmd = Command(connection, null, includeAnalysis
            ? "SELECT capture, analysis FROM captures WHERE capture_id = @id;"
            : "SELECT capture, NULL FROM captures WHERE capture_id = @id;");
        Add(cmd, "id", captureId);
        await using DbDataReader reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) ? ReadCapture(reader) : null;
    }

    public async Task<IReadOnlyList<Capture>> ListAsync(string rack, long fromUnixNs, long toUnixNs, int limit,
        CancellationToken cancellationToken)
    {
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        await using DbConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using DbCommand cmd = Command(connection, null, """
            SELECT capture, NULL FROM captures
            WHERE (@rack = '' OR rack = @rack)
              AND requested_at_unix_ns >= @from
              AND (@to = 0 OR requested_at_unix_ns < @to)
            ORDER BY requested_at_unix_ns DESC, capture_id DESC
            LIMIT @limit;
            """);
        Add(cmd, "rack", rack);
        Add(cmd, "from", fromUnixNs);
        Add(cmd, "to", toUnixNs);
        Add(cmd, "limit", (long)limit);
        var list = new List<Capture>();
        await using DbDataReader reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(ReadCapture(reader));
        }

        return list;
    }

    public async Task<IReadOnlyList<Run>> GetRunsAsync(string captureId, IReadOnlyCollection<string> hosts,
        CancellationToken cancellationToken)
    {
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        await using DbConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using DbCommand cmd = Command(connection, null, "SELECT host, run FROM capture_runs WHERE capture_id = @id ORDER BY host;");
        Add(cmd, "id", captureId);
        var wanted = hosts.Count == 0 ? null : new HashSet<string>(hosts, StringComparer.Ordinal);
        var runs = new List<Run>();
        await using DbDataReader reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            if (wanted is null || wanted.Contains(reader.GetString(0)))
            {
                runs.Add(Run.Parser.ParseFrom((byte[])reader.GetValue(1)));
            }
        }

        return runs;
    }

    public async Task<bool> TryAcquireLeaseAsync(string name, string holder, TimeSpan duration, CancellationToken cancellationToken)
    {
        bool held = false;
        await WriteAsync(async (connection, tx) =>
        {
            long now = NowNs();
            await using DbCommand cmd = Command(connection, tx, """
                INSERT INTO leases (name, holder, expires_unix_ns) VALUES (@name, @holder, @expires)
                ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_unix_ns = excluded.expires_unix_ns
                WHERE leases.holder = excluded.holder OR leases.expires_unix_ns <= @now;
                """);
            Add(cmd, "name", name);
            Add(cmd, "holder", holder);
            Add(cmd, "expires", now + TimeNs.Of(duration));
            Add(cmd, "now", now);
            held = await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }, cancellationToken).ConfigureAwait(false);
        return held;
    }

    public Task ReleaseLeaseAsync(string name, string holder, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, tx) =>
        {
            await using DbCommand cmd = Command(connection, tx, "DELETE FROM leases WHERE name = @name AND holder = @holder;");
            Add(cmd, "name", name);
            Add(cmd, "holder", holder);
            await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public async Task<string?> LeaseHolderAsync(string name, CancellationToken cancellationToken)
    {
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        await using DbConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using DbCommand cmd = Command(connection, null, "SELECT holder FROM leases WHERE name = @name AND expires_unix_ns > @now;");
        Add(cmd, "name", name);
        Add(cmd, "now", NowNs());
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
    }

    public virtual void Dispose()
    {
        _writeLock.Dispose();
        _initLock.Dispose();
        GC.SuppressFinalize(this);
    }

    public string Where => Description;

    public Task CheckWritableAsync(CancellationToken cancellationToken) =>
        WriteAsync(async (connection, tx) =>
        {
            await ExecuteAsync(connection, tx, "CREATE TABLE IF NOT EXISTS health_probe (coordinator_id TEXT PRIMARY KEY, checked_at_unix_ns BIGINT NOT NULL);", cancellationToken).ConfigureAwait(false);
            await using DbCommand cmd = Command(connection, tx, """
                INSERT INTO health_probe (coordinator_id, checked_at_unix_ns) VALUES (@id, @now)
                ON CONFLICT (coordinator_id) DO UPDATE SET checked_at_unix_ns = excluded.checked_at_unix_ns;
                """);
            Add(cmd, "@id", CoordinatorId);
            Add(cmd, "@now", NowNs());
            await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    protected async Task WriteAsync(Func<DbConnection, DbTransaction, Task> write, CancellationToken cancellationToken) =>
        await WriteAsync<bool>(async (connection, tx) =>
        {
            await write(connection, tx).ConfigureAwait(false);
            return true;
        }, cancellationToken).ConfigureAwait(false);

    protected async Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> write, CancellationToken cancellationToken)
    {
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        if (SerializeWrites)
        {
            await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        try
        {
            await using DbConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
            await using DbTransaction tx = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            T result = await write(connection, tx).ConfigureAwait(false);
            await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
            return result;
        }
        finally
        {
            if (SerializeWrites)
            {
                _writeLock.Release();
            }
        }
    }

    protected long NowNs() => Time.UnixNowNs();

    protected static DbCommand Command(DbConnection connection, DbTransaction? tx, string sql)
    {
        DbCommand cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        return cmd;
    }

    /// <summary>A typed parameter (typed so that a null blob still has a type on PostgreSQL).</summary>
    protected static DbParameter Add(DbCommand cmd, string name, object? value)
    {
        DbParameter p = cmd.CreateParameter();
        p.ParameterName = name;
        p.DbType = value switch
        {
            string => DbType.String,
            long or int => DbType.Int64,
            double => DbType.Double,
            byte[] => DbType.Binary,
            _ => DbType.Binary,
        };
        p.Value = value switch
        {
            null => DBNull.Value,
            int i => (long)i,
            _ => value,
        };
        cmd.Parameters.Add(p);
        return p;
    }

    protected static async Task ExecuteAsync(DbConnection connection, DbTransaction? tx, string sql, CancellationToken cancellationToken)
    {
        await using DbCommand cmd = Command(connection, tx, sql);
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task UpdateCaptureAsync(DbConnection connection, DbTransaction tx, Capture capture,
        CancellationToken cancellationToken)
    {
        await using DbCommand cmd = Command(connection, tx, """
            UPDATE captures SET state = @state, start_tai_ns = @start, completed_at_unix_ns = @completed,
                capture = @capture, analysis = COALESCE(@analysis, analysis)
            WHERE capture_id = @id;
            """);
        BindCapture(cmd, capture);
        Add(cmd, "analysis", capture.Analysis?.ToByteArray());
        if (await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) != 1)
        {
            throw new InvalidOperationException($"Capture {capture.CaptureId} is not in the store.");
        }
    }

    private static void BindCapture(DbCommand cmd, Capture capture)
    {
        // The analysis has its own column: listing captures must not parse every capture's analysis.
        Capture withoutAnalysis = capture.Clone();
        withoutAnalysis.Analysis = null;
        Add(cmd, "id", capture.CaptureId);
        Add(cmd, "rack", capture.Rack);
        Add(cmd, "state", (long)capture.State);
        Add(cmd, "requested", capture.RequestedAtUnixNs);
        Add(cmd, "start", capture.StartTaiNs);
        Add(cmd, "completed", capture.CompletedAtUnixNs);
        Add(cmd, "capture", withoutAnalysis.ToByteArray());
    }

    private static Capture ReadCapture(DbDataReader reader)
    {
        Capture capture = Capture.Parser.ParseFrom((byte[])reader.GetValue(0));
        if (!reader.IsDBNull(1))
        {
            capture.Analysis = CaptureAnalysis.Parser.ParseFrom((byte[])reader.GetValue(1));
        }

        return capture;
    }

    private async Task<int> FailInterruptedAsync(DbConnection connection, DbTransaction tx, CancellationToken cancellationToken)
    {
        var interrupted = new List<Capture>();
        await using (DbCommand select = Command(connection, tx,
            "SELECT capture, NULL FROM captures WHERE state NOT IN (@analysed, @failed) AND coordinator IN (@me, '');"))
        {
            Add(select, "analysed", (long)CaptureState.Analysed);
            Add(select, "failed", (long)CaptureState.Failed);
            Add(select, "me", CoordinatorId);
            await using DbDataReader reader = await select.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                interrupted.Add(ReadCapture(reader));
            }
        }

        long now = NowNs();
        foreach (Capture c in interrupted)
        {
            c.State = CaptureState.Failed;
            c.Detail = "the coordinator stopped before this capture completed";
            c.CompletedAtUnixNs = now;
            // A scheduled host holds a pin on the capture's run; a pending one may, if the request reached it.
            var pinned = new List<string>();
            foreach (HostOutcome h in c.Hosts.Where(h => h.Outcome is HostOutcomeKind.HostOutcomePending or HostOutcomeKind.HostOutcomeScheduled))
            {
                pinned.Add(h.Host);
                h.Outcome = HostOutcomeKind.HostOutcomeFailed;
                h.Reason = "not collected: the coordinator stopped";
            }

            await UpdateCaptureAsync(connection, tx, c, cancellationToken).ConfigureAwait(false);
            await InsertPinReleasesAsync(connection, tx, c.CaptureId, pinned, cancellationToken).ConfigureAwait(false);
        }

        return interrupted.Count;
    }

    private async Task PurgeExpiredAsync(DbConnection connection, DbTransaction tx, CancellationToken cancellationToken)
    {
        if (Options.RetentionDays > 0)
        {
            long cutoff = NowNs() - TimeNs.Of(TimeSpan.FromDays(Options.RetentionDays));
            // Runs go explicitly (not only by ON DELETE CASCADE): a SQLite connection without foreign_keys would keep them.
            await using DbCommand runs = Command(connection, tx,
                "DELETE FROM capture_runs WHERE capture_id IN (SELECT capture_id FROM captures WHERE requested_at_unix_ns < @cutoff);");
            Add(runs, "cutoff", cutoff);
            await runs.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await using DbCommand cmd = Command(connection, tx, "DELETE FROM captures WHERE requested_at_unix_ns < @cutoff;");
            Add(cmd, "cutoff", cutoff);
            int deleted = await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            if (deleted > 0)
            {
                LogPurged(Logger, deleted, Options.RetentionDays);
            }
        }

        await PurgeSummariesAsync(connection, tx, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The id this coordinator records on its captures.</summary>
    protected static string CoordinatorIdOf(IOptions<MembershipOptions> membership) => membership.Value.EffectiveCoordinatorId;
}
