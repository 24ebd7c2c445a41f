using System.Data.Common;
using Microsoft.Extensions.Options;
using Millisampler.Coordinator.Membership;
using Npgsql;

namespace Millisampler.Coordinator.Storage;

/// <summary>
/// The shared store: a PostgreSQL database that several coordinators (one per rack group) use at once, so trends
/// and rankings span the fleet and leases decide which coordinator runs a sweep of a rack. Writes run concurrently;
/// the database serializes what conflicts.
/// </summary>
internal sealed class PostgresStore : SqlStore
{
    // Any constant: the transaction-scoped advisory lock that serializes schema creation between coordinators.
    private const long SchemaLockKey = 0x4d53_5343_4845_4d41; // "MSSCHEMA"

    private readonly NpgsqlDataSource _dataSource;
    private readonly string _description;

    public PostgresStore(IOptions<StorageOptions> options, IOptions<MembershipOptions> membership, TimeProvider time,
        ILogger<PostgresStore> logger)
        : base(options.Value, CoordinatorIdOf(membership), time, logger)
    {
        var builder = new NpgsqlConnectionStringBuilder(options.Value.ConnectionString);
        _description = $"postgres://{builder.Host}:{builder.Port}/{builder.Database}";
        _dataSource = NpgsqlDataSource.Create(builder);
    }

    protected override string Description => _description;

    protected override string BlobType => "BYTEA";

    protected override bool SerializeWrites => false;

    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);

    protected override async Task PrepareSchemaAsync(DbConnection connection, DbTransaction tx, CancellationToken cancellationToken)
    {
        await using DbCommand cmd = Command(connection, tx, "SELECT pg_advisory_xact_lock(@key);");
        Add(cmd, "key", SchemaLockKey);
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override Task AddColumnIfMissingAsync(DbConnection connection, DbTransaction tx, string table, string column,
        string definition, CancellationToken cancellationToken) =>
        ExecuteAsync(connection, tx, $"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {definition};", cancellationToken);

    public override void Dispose()
    {
        _dataSource.Dispose();
        base.Dispose();
    }
}
