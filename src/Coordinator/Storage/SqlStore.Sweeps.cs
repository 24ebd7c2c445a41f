using System.Data.Common;
using System.Globalization;
using Google.Protobuf;
using Millisampler.Common.Time;
using Millisampler.Contracts.V1;

namespace Millisampler.Coordinator.Storage;

internal abstract partial class SqlStore : ISweepStore
{
    private static string SweepSchema(string blob) => $"""
        CREATE TABLE IF NOT EXISTS sweeps (
            name TEXT PRIMARY KEY,
            paused INTEGER NOT NULL,
            created_at_unix_ns BIGINT NOT NULL,
            sweep {blob} NOT NULL
        );
        CREATE TABLE IF NOT EXISTS sweep_progress (
            sweep TEXT NOT NULL,
            rack TEXT NOT NULL,
            bin_width_ns BIGINT NOT NULL,
            period BIGINT NOT NULL,
            started_at_unix_ns BIGINT NOT NULL,
            PRIMARY KEY (sweep, rack, bin_width_ns)
        );
        CREATE TABLE IF NOT EXISTS sweep_summaries (
            capture_id TEXT PRIMARY KEY,
            sweep TEXT NOT NULL,
            rack TEXT NOT NULL,
            bin_width_ns BIGINT NOT NULL,
            start_unix_ns BIGINT NOT NULL,
            bursts_per_host_second DOUBLE PRECISION NOT NULL,
            mean_contention DOUBLE PRECISION NOT NULL,
            contended_bin_share DOUBLE PRECISION NOT NULL,
            lossy_contended_bin_share DOUBLE PRECISION NOT NULL,
            ce_fraction DOUBLE PRECISION NOT NULL,
            retransmit_fraction DOUBLE PRECISION NOT NULL,
            max_rack_ingress_fraction DOUBLE PRECISION NOT NULL,
            sync_events BIGINT NOT NULL,
            summary {blob} NOT NULL
        );
        CREATE INDEX IF NOT EXISTS sweep_summaries_by_rack_time ON sweep_summaries (rack, start_unix_ns);
        CREATE INDEX IF NOT EXISTS sweep_summaries_by_time ON sweep_summaries (start_unix_ns);
        """;

    public Task<bool> CreateSweepAsync(Sweep sweep, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, tx) =>
        {
            await using DbCommand cmd = Command(connection, tx, """
                INSERT INTO sweeps (name, paused, created_at_unix_ns, sweep) VALUES (@name, @paused, @created, @sweep)
                ON CONFLICT (name) DO NOTHING;
                """);
            Add(cmd, "name", sweep.Definition.Name);
            Add(cmd, "paused", sweep.Paused ? 1L : 0L);
            Add(cmd, "created", sweep.CreatedAtUnixNs);
            Add(cmd, "sweep", sweep.ToByteArray());
            return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }, cancellationToken);

    public async Task<IReadOnlyList<Sweep>> ListSweepsAsync(CancellationToken cancellationToken)
    {
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        await using DbConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using DbCommand cmd = Command(connection, null, "SELECT sweep FROM sweeps ORDER BY name;");
        var list = new List<Sweep>();
        await using DbDataReader reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(Sweep.Parser.ParseFrom((byte[])reader.GetValue(0)));
        }

        return list;
    }

    public async Task<Sweep?> GetSweepAsync(string name, CancellationToken cancellationToken)
    {
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        await using DbConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using DbCommand cmd = Command(connection, null, "SELECT sweep FROM sweeps WHERE name = @name;");
        Add(cmd, "name", name);
        return await cmd.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is byte[] blob ? Sweep.Parser.ParseFrom(blob) : null;
    }

    public Task<Sweep?> SetPausedAsync(string name, bool paused, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, tx) =>
        {
            await using DbCommand select = Command(connection, tx, "SELECT sweep FROM sweeps WHERE name = @name;");
            Add(select, "name", name);
            if (await select.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is not byte[] blob)
            {
                return null;
            }

            Sweep sweep = Sweep.Parser.ParseFrom(blob);
            sweep.Paused = paused;
            sweep.UpdatedAtUnixNs = NowNs();
            await using DbCommand update = Command(connection, tx, "UPDATE sweeps SET paused = @paused, sweep = @sweep WHERE name = @name;");
            Add(update, "paused", paused ? 1L : 0L);
            Add(update, "sweep", sweep.ToByteArray());
            Add(update, "name", name);
            await update.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return (Sweep?)sweep;
        }, cancellationToken);

    public Task<bool> DeleteSweepAsync(string name, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, tx) =>
        {
            await using DbCommand progress = Command(connection, tx, "DELETE FROM sweep_progress WHERE sweep = @name;");
            Add(progress, "name", name);
            await progress.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            await using DbCommand cmd = Command(connection, tx, "DELETE FROM sweeps WHERE name = @name;");
            Add(cmd, "name", name);
            return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }, cancellationToken);

    public async Task<IReadOnlyList<SweepSlotProgress>> GetProgressAsync(string sweep, CancellationToken cancellationToken)
    {
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        await using DbConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        await using DbCommand cmd = Command(connection, null, """
            SELECT rack, bin_width_ns, period, started_at_unix_ns FROM sweep_progress WHERE sweep = @sweep ORDER BY rack, bin_width_ns;
            """);
        Add(cmd, "sweep", sweep);
        var list = new List<SweepSlotProgress>();
        await using DbDataReader reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            list.Add(new SweepSlotProgress(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3)));
        }

        return list;
    }

    public Task<bool> ClaimPeriodAsync(string sweep, string rack, long binWidthNs, long period, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, tx) =>
        {
            await using DbCommand cmd = Command(connection, tx, """
                INSERT INTO sweep_progress (sweep, rack, bin_width_ns, period, started_at_unix_ns) VALUES (@sweep, @rack, @width, @period, @now)
                ON CONFLICT (sweep, rack, bin_width_ns) DO UPDATE SET period = excluded.period, started_at_unix_ns = excluded.started_at_unix_ns
                WHERE sweep_progress.period < excluded.period;
                """);
            Add(cmd, "sweep", sweep);
            Add(cmd, "rack", rack);
            Add(cmd, "width", binWidthNs);
            Add(cmd, "period", period);
            Add(cmd, "now", NowNs());
            return await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
        }, cancellationToken);

    public Task SaveSummaryAsync(SweepSummary summary, CancellationToken cancellationToken) =>
        SaveSummariesAsync([summary], cancellationToken);

    public Task SaveSummariesAsync(IReadOnlyCollection<SweepSummary> summaries, CancellationToken cancellationToken) =>
        WriteAsync(async (connection, tx) =>
        {
            await using DbCommand cmd = Command(connection, tx, """
                INSERT INTO sweep_summaries (capture_id, sweep, rack, bin_width_ns, start_unix_ns, bursts_per_host_second,
                    mean_contention, contended_bin_share, lossy_contended_bin_share, ce_fraction, retransmit_fraction,
                    max_rack_ingress_fraction, sync_events, summary)
                VALUES (@id, @sweep, @rack, @width, @start, @bphs, @mc, @cbs, @lcbs, @ce, @rt, @mri, @se, @summary)
                ON CONFLICT (capture_id) DO UPDATE SET sweep = excluded.sweep, rack = excluded.rack, bin_width_ns = excluded.bin_width_ns,
                    start_unix_ns = excluded.start_unix_ns, bursts_per_host_second = excluded.bursts_per_host_second,
                    mean_contention = excluded.mean_contention, contended_bin_share = excluded.contended_bin_share,
                    lossy_contended_bin_share = excluded.lossy_contended_bin_share, ce_fraction = excluded.ce_fraction,
                    retransmit_fraction = excluded.retransmit_fraction, max_rack_ingress_fraction = excluded.max_rack_ingress_fraction,
                    sync_events = excluded.sync_events, summary = excluded.summary;
                """);
            DbParameter id = Add(cmd, "id", "");
            DbParameter sweep = Add(cmd, "sweep", "");
            DbParameter rack = Add(cmd, "rack", "");
            DbParameter width = Add(cmd, "width", 0L);
            DbParameter start = Add(cmd, "start", 0L);
            DbParameter bphs = Add(cmd, "bphs", 0.0);
            DbParameter mc = Add(cmd, "mc", 0.0);
            DbParameter cbs = Add(cmd, "cbs", 0.0);
            DbParameter lcbs = Add(cmd, "lcbs", 0.0);
            DbParameter ce = Add(cmd, "ce", 0.0);
            DbParameter rt = Add(cmd, "rt", 0.0);
            DbParameter mri = Add(cmd, "mri", 0.0);
            DbParameter se = Add(cmd, "se", 0L);
            DbParameter blob = Add(cmd, "summary", Array.Empty<byte>());
            foreach (SweepSummary summary in summaries)
            {
                id.Value = summary.CaptureId;
                sweep.Value = summary.Sweep;
                rack.Value = summary.Rack;
                width.Value = summary.BinWidthNs;
                start.Value = summary.StartUnixNs;
                bphs.Value = summary.BurstsPerHostSecond;
                mc.Value = summary.MeanContention;
                cbs.Value = summary.ContendedBinShare;
                lcbs.Value = summary.LossyContendedBinShare;
                ce.Value = summary.CeFraction;
                rt.Value = summary.RetransmitFraction;
                mri.Value = summary.MaxRackIngressFraction;
                se.Value = (long)summary.SyncEvents;
                blob.Value = summary.ToByteArray();
                await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await PurgeSummariesAsync(connection, tx, cancellationToken).ConfigureAwait(false);
        }, cancellationToken);

    public async Task<IReadOnlyList<TrendRow>> AggregateAsync(SummaryFilter filter, long bucketNs, bool perWidth,
        CancellationToken cancellationToken)
    {
        await EnsureInitializedAsync(cancellationToken).ConfigureAwait(false);
        await using DbConnection connection = await OpenAsync(cancellationToken).ConfigureAwait(false);
        string width = perWidth ? "bin_width_ns" : "0";
        string bucket = bucketNs > 0 ? "(start_unix_ns / @bucket) * @bucket" : "0";
        // Only the filters given go into WHERE: "(@rack = '' OR rack = @rack)" hides the (rack, start) index from
        // SQLite's planner, and a one-rack report then scans every rack's summaries.
        var where = new List<string> { "start_unix_ns >= @from", "start_unix_ns < @to" };
        if (filter.Sweep.Length > 0)
        {
            where.Add("sweep = @sweep");
        }

        if (filter.Rack.Length > 0)
        {
            where.Add("rack = @rack");
        }

        if (filter.BinWidthNs != 0)
        {
            where.Add("bin_width_ns = @width");
        }

        await using DbCommand cmd = Command(connection, null, $"""
            SELECT rack, {width} AS w, {bucket} AS b, COUNT(*), AVG(bursts_per_host_second), AVG(mean_contention),
                AVG(contended_bin_share), AVG(lossy_contended_bin_share), AVG(ce_fraction), AVG(retransmit_fraction),
                MAX(max_rack_ingress_fraction), SUM(sync_events)
            FROM sweep_summaries
            WHERE {string.Join(" AND ", where)}
            GROUP BY rack, w, b
            ORDER BY rack, w, b;
            """);
        if (bucketNs > 0)
        {
            Add(cmd, "bucket", bucketNs);
        }

        Add(cmd, "from", filter.FromUnixNs);
        Add(cmd, "to", filter.ToUnixNs);
        if (filter.Sweep.Length > 0)
        {
            Add(cmd, "sweep", filter.Sweep);
        }

        if (filter.Rack.Length > 0)
        {
            Add(cmd, "rack", filter.Rack);
        }

        if (filter.BinWidthNs != 0)
        {
            Add(cmd, "width", filter.BinWidthNs);
        }

        var rows = new List<TrendRow>();
        await using DbDataReader reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            rows.Add(new TrendRow
            {
                Rack = reader.GetString(0),
                BinWidthNs = Long(reader.GetValue(1)),
                BucketStartUnixNs = Long(reader.GetValue(2)),
                Captures = (uint)Long(reader.GetValue(3)),
                BurstsPerHostSecond = Double(reader.GetValue(4)),
                MeanContention = Double(reader.GetValue(5)),
                ContendedBinShare = Double(reader.GetValue(6)),
                LossyContendedBinShare = Double(reader.GetValue(7)),
                CeFraction = Double(reader.GetValue(8)),
                RetransmitFraction = Double(reader.GetValue(9)),
                MaxRackIngressFraction = Double(reader.GetValue(10)),
                SyncEvents = (uint)Long(reader.GetValue(11)),
            });
        }

        return rows;

        static long Long(object v) => Convert.ToInt64(v, CultureInfo.InvariantCulture);
        static double Double(object v) => Convert.ToDouble(v, CultureInfo.InvariantCulture);
    }

    private async Task PurgeSummariesAsync(DbConnection connection, DbTransaction tx, CancellationToken cancellationToken)
    {
        if (Options.SummaryRetentionDays <= 0)
        {
            return;
        }

        await using DbCommand cmd = Command(connection, tx, "DELETE FROM sweep_summaries WHERE start_unix_ns < @cutoff;");
        Add(cmd, "cutoff", NowNs() - TimeNs.Of(TimeSpan.FromDays(Options.SummaryRetentionDays)));
        int deleted = await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        if (deleted > 0)
        {
            LogSummariesPurged(Logger, deleted, Options.SummaryRetentionDays);
        }
    }
}
