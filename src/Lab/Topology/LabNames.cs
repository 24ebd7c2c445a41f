using System.Globalization;
using System.Text.RegularExpressions;

namespace Millisampler.Lab;

/// <summary>
/// How lab namespaces are named: <c>{prefix}{pid}r{xxxx}-{role}</c>, e.g. <c>ms-48213r7f0a-h1</c>. The
/// creating process id lets <see cref="NetworkLab.CleanupStale"/> tell a crashed run's leftovers
/// from a run still going; the hex counter (starting at a random value) keeps the labs of one process
/// apart, and apart from a crashed process that had the same pid.
/// </summary>
public static partial class LabNames
{
    /// <summary>Default prefix of every lab namespace.</summary>
    public const string DefaultPrefix = "ms-";

    /// <summary>Longest Linux interface name (IFNAMSIZ - 1).</summary>
    public const int MaxInterfaceName = 15;

    private static int nextRun = Random.Shared.Next(0x10000);

    /// <summary>A new run id, unique within this process: <c>{pid}r{xxxx}</c>.</summary>
    public static string NewRunId() =>
        string.Create(CultureInfo.InvariantCulture, $"{Environment.ProcessId}r{Interlocked.Increment(ref nextRun) & 0xffff:x4}");

    /// <summary>Throws unless <paramref name="prefix"/> starts with "ms-" and holds only a-z, 0-9 and '-'.</summary>
    public static void ValidatePrefix(string prefix)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        if (!prefix.StartsWith(DefaultPrefix, StringComparison.Ordinal) || !PrefixRegex().IsMatch(prefix))
        {
            throw new ArgumentException($"Namespace prefix must start with '{DefaultPrefix}' and use only a-z, 0-9 and '-'; was '{prefix}'.", nameof(prefix));
        }
    }

    /// <summary>Throws unless <paramref name="role"/> is 1-24 characters of a-z, 0-9 and '-'.</summary>
    public static void ValidateRole(string role)
    {
        ArgumentNullException.ThrowIfNull(role);
        if (!RoleRegex().IsMatch(role))
        {
            throw new ArgumentException($"Namespace role must be 1-24 characters of a-z, 0-9 and '-'; was '{role}'.", nameof(role));
        }
    }

    /// <summary>Throws unless <paramref name="ifname"/> is a valid Linux interface name (1-15 characters, no '/', ':' or whitespace).</summary>
    public static void ValidateInterface(string ifname)
    {
        ArgumentNullException.ThrowIfNull(ifname);
        if (ifname.Length is 0 or > MaxInterfaceName || ifname.Any(c => c is '/' or ':' || char.IsWhiteSpace(c)) || ifname is "." or "..")
        {
            throw new ArgumentException($"Interface name must be 1-{MaxInterfaceName} characters without '/', ':' or spaces; was '{ifname}'.", nameof(ifname));
        }
    }

    /// <summary>The id of the process that created <paramref name="ns"/>, if its name follows the lab scheme.</summary>
    public static int? OwnerPid(string ns)
    {
        var m = OwnerRegex().Match(ns);
        return m.Success && int.TryParse(m.Groups["pid"].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
    }

    [GeneratedRegex("^[a-z0-9-]+$")]
    private static partial Regex PrefixRegex();

    [GeneratedRegex("^[a-z0-9-]{1,24}$")]
    private static partial Regex RoleRegex();

    [GeneratedRegex("(?:^|-)(?<pid>[0-9]{1,9})r[0-9a-f]{2,4}-")]
    private static partial Regex OwnerRegex();
}
