using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;
using Millisampler.Coordinator.Membership;

namespace Millisampler.Coordinator.Storage;

/// <summary>
/// The embedded store: one SQLite file with a rollback journal. Writes queue in-process; one coordinator per file.
/// </summary>
/// <remarks>
/// Not WAL: WAL keeps its index in <c>coordinator.db-shm</c>, mapped shared and writable into the process, and every
/// read writes to that mapping. When the file system stops taking writes to that file (an immutable attribute,
/// <c>chattr +i</c>; a shut-down file system), ext4 answers the page fault with SIGBUS and the whole coordinator dies
/// instead of reporting a database that does not take writes. With a rollback journal SQLite only reads and writes
/// through file descriptors, so the same condition is an error the health check reports. Readers wait for a commit
/// (the busy timeout) instead of running beside it; the coordinator's writes are short.
/// </remarks>
internal sealed class SqliteStore : SqlStore
{
    private readonly string _connectionString;
    private readonly string _path;

    public SqliteStore(IOptions<StorageOptions> options, IOptions<MembershipOptions> membership, TimeProvider time,
        ILogger<SqliteStore> logger)
        : base(options.Value, CoordinatorIdOf(membership), time, logger)
    {
        _path = Path.GetFullPath(options.Value.DatabasePath);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = _path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
            DefaultTimeout = 30,
        }.ToString();
    }

    protected override string Description => _path;

    protected override string BlobType => "BLOB";

    protected override bool SerializeWrites => true;

    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, null, "PRAGMA foreign_keys = ON;", cancellationToken).ConfigureAwait(false);
        return connection;
    }

    protected override Task PrepareSchemaAsync(DbConnection connection, DbTransaction tx, CancellationToken cancellationToken) =>
        Task.CompletedTask;

    protected override async Task PrepareDatabaseAsync(CancellationToken cancellationToken)
    {
        // The journal mode cannot be switched inside a transaction; it is persistent in the file, and DELETE also
        // turns a database an older coordinator left in WAL mode back into a rollback-journal one (see remarks).
        string? directory = Path.GetDirectoryName(_path);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        await using var journal = new SqliteConnection(_connectionString);
        await journal.OpenAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(journal, null, "PRAGMA journal_mode=DELETE;", cancellationToken).ConfigureAwait(false);
    }

    protected override async Task AddColumnIfMissingAsync(DbConnection connection, DbTransaction tx, string table, string column,
        string definition, CancellationToken cancellationToken)
    {
        await using DbCommand cmd = Command(connection, tx, $"SELECT COUNT(*) FROM pragma_table_info('{table}') WHERE name = @column;");
        Add(cmd, "column", column);
        if (Convert.ToInt64(await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false), System.Globalization.CultureInfo.InvariantCulture) == 0)
        {
            await ExecuteAsync(connection, tx, $"ALTER TABLE {table} ADD COLUMN {column} {definition};", cancellationToken).ConfigureAwait(false);
        }
    }

    public override void Dispose()
    {
        // Close pooled connections so the file can be moved or deleted once the process is done with it.
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
        base.Dispose();
    }
}
