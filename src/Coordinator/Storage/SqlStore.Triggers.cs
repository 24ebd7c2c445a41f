using System.Data.Common;
using Google.Protobuf;
using Millisampler.Contracts.V1;

namespace Millisampler.Coordinator.Storage;

internal abstract partial class SqlStore : ITriggerStore
{
    private static string TriggerSchema(string blob) => $"""
        CREATE TABLE IF NOT EXISTS triggers (
            trigger_id TEXT PRIMARY KEY,
            rack TEXT NOT NULL,
            host TEXT NOT NULL,
            received_at_unix_ns BIGINT NOT NULL,
            decision INTEGER NOT NULL,
            capture_id TEXT NOT NULL,
            record {blob} NOT NULL
        );
        CREATE INDEX IF NOT EXISTS triggers_by_rack_time ON triggers (rack, received_at_unix_ns);
        CREATE INDEX IF NOT EXISTS triggers_by_time ON triggers (received_at_unix_ns);
        """;

    public Task InsertTriggerAsync(TriggerRecord record, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, tx) =>
        {
            await using DbCommand cmd = Command(connection, tx, """
                INSERT INTO triggers (trigger_id, rack, host, received_at_unix_ns, decision, capture_id, record)
                VALUES (@id, @rack, @host, @received, @decision, @capture, @record)
                ON CONFLICT (trigger_id) DO NOTHING;
                """);
            Add(cmd, "id", record.TriggerId);
            Add(cmd, "rack", record.Report?.Rack ?? "");
            Add(cmd, "host", record.Report?.Host ?? "");
            Add(cmd, "received", record.ReceivedAtUnixNs);
            Add(cmd, "decision", (long)record.Decision);
            Add(cmd, "capture", record.CaptureId);
            Add(cmd, "record", record.ToByteArray());
            await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public async Task<IReadOnlyList<TriggerRecord>> ListTriggersAsync(string rack, long fromUnixNs, int limit,
        CancellationToken cancellationToken)
    {
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        await using DbConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using DbCommand cmd = Command(connection, null, """
            SELECT record FROM triggers
            WHERE (@rack = '' OR rack = @rack) AND received_at_unix_ns >= @from
            ORDER BY received_at_unix_ns DESC, trigger_id DESC
            LIMIT @limit;
            """);
        Add(cmd, "rack", rack);
        Add(cmd, "from", fromUnixNs);
        Add(cmd, "limit", (long)limit);
        var list = new List<TriggerRecord>();
        await using DbDataReader reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(TriggerRecord.Parser.ParseFrom((byte[])reader.GetValue(0)));
        }

        return list;
    }
}
