using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Millisampler.Coordinator.Storage;

/// <summary>Which database keeps captures, sweeps and leases.</summary>
public enum StorageProvider
{
    /// <summary>An embedded SQLite file (<see cref="StorageOptions.DatabasePath"/>); one coordinator.</summary>
    Sqlite,

    /// <summary>A PostgreSQL server (<see cref="StorageOptions.ConnectionString"/>); may be shared by several coordinators.</summary>
    Postgres,
}

/// <summary>Where captures are kept. Section <c>Coordinator:Storage</c>.</summary>
public sealed class StorageOptions
{
    /// <summary>Configuration section.</summary>
    public const string SectionName = "Coordinator:Storage";

    /// <summary><c>Sqlite</c> (default, embedded) or <c>Postgres</c> (shared by several coordinators).</summary>
    public StorageProvider Provider { get; set; } = StorageProvider.Sqlite;

    /// <summary>SQLite database file; created with its directory when missing. Default <c>millisampler-coordinator.db</c> in the working directory.</summary>
    [Required(AllowEmptyStrings = false)]
    public string DatabasePath { get; set; } = "millisampler-coordinator.db";

    /// <summary>
    /// PostgreSQL connection string (Npgsql syntax, e.g. <c>Host=db;Database=millisampler;Username=ms;Password=...</c>);
    /// required when <see cref="Provider"/> is <c>Postgres</c>. Keep the password in the environment
    /// (<c>Coordinator__Storage__ConnectionString</c>) or a mounted secret, not in appsettings.json.
    /// </summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>Captures (with their raw per-host series) requested longer ago than this many days are deleted; 0 = keep forever. Default 30.</summary>
    [Range(0, 36500)]
    public int RetentionDays { get; set; } = 30;

    /// <summary>Sweep summaries older than this many days are deleted; 0 = keep forever. Default 400 (trends over a year).</summary>
    [Range(0, 36500)]
    public int SummaryRetentionDays { get; set; } = 400;
}

/// <summary>Rules between fields that data annotations cannot state.</summary>
internal sealed class StorageOptionsValidator : IValidateOptions<StorageOptions>
{
    public ValidateOptionsResult Validate(string? name, StorageOptions o)
    {
        if (o.Provider == StorageProvider.Postgres && string.IsNullOrWhiteSpace(o.ConnectionString))
        {
            return ValidateOptionsResult.Fail($"{nameof(StorageOptions.ConnectionString)} is required when {nameof(StorageOptions.Provider)} is Postgres.");
        }

        if (o.Provider == StorageProvider.Postgres)
        {
            try
            {
                _ = new Npgsql.NpgsqlConnectionStringBuilder(o.ConnectionString);
            }
            catch (ArgumentException ex)
            {
                return ValidateOptionsResult.Fail($"{nameof(StorageOptions.ConnectionString)} is not a valid PostgreSQL connection string: {ex.Message}");
            }
        }

        return ValidateOptionsResult.Success;
    }
}
