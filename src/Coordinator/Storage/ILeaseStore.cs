namespace Millisampler.Coordinator.Storage;

/// <summary>
/// Named leases with an expiry, so that exactly one of several coordinators sharing a database does a piece of
/// work (a sweep of a rack). A lease row holds its holder and expiry; taking it is one conditional upsert, so the
/// database decides, not a protocol between coordinators. Expiry uses the coordinators' clocks, which the product
/// keeps synchronized anyway (TAI from chrony); the lease duration must be far above their skew.
/// </summary>
internal interface ILeaseStore
{
    /// <summary>
    /// Takes or renews lease <paramref name="name"/> for <paramref name="holder"/> until now + <paramref name="duration"/>.
    /// True when <paramref name="holder"/> holds it afterwards: it was free, expired, or already its own.
    /// </summary>
    Task<bool> TryAcquireLeaseAsync(string name, string holder, TimeSpan duration, CancellationToken cancellationToken);

    /// <summary>Gives lease <paramref name="name"/> up when <paramref name="holder"/> holds it, so another may take it at once.</summary>
    Task ReleaseLeaseAsync(string name, string holder, CancellationToken cancellationToken);

    /// <summary>The current unexpired holder of <paramref name="name"/>, or null.</summary>
    Task<string?> LeaseHolderAsync(string name, CancellationToken cancellationToken);
}
