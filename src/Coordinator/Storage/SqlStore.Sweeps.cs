using System.Data.Common;

namespace Millisampler.Coordinator.Storage;

internal abstract partial class SqlStore
{
    private static string SweepSchema(string blob) => "";

    private Task PurgeSummariesAsync(DbConnection connection, DbTransaction tx, CancellationToken cancellationToken) => Task.CompletedTask;
}
