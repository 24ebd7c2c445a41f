using System.ComponentModel.DataAnnotations;

namespace Millisampler.Coordinator.Storage;

/// <summary>Where captures are kept. Section <c>Coordinator:Storage</c>.</summary>
public sealed class StorageOptions
{
    /// <summary>Configuration section.</summary>
    public const string SectionName = "Coordinator:Storage";

    /// <summary>SQLite database file; created with its directory when missing. Default <c>millisampler-coordinator.db</c> in the working directory.</summary>
    [Required(AllowEmptyStrings = false)]
    public string DatabasePath { get; set; } = "millisampler-coordinator.db";

    /// <summary>Captures requested longer ago than this many days are deleted; 0 = keep forever. Default 30.</summary>
    [Range(0, 36500)]
    public int RetentionDays { get; set; } = 30;
}
