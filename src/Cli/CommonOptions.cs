using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Millisampler.Common.Text;
using Millisampler.Common.Time;

namespace Millisampler.Cli;

/// <summary>How a command prints its result.</summary>
public enum OutputFormat
{
    /// <summary>Readable tables.</summary>
    Table,

    /// <summary>The protobuf message as JSON (proto3 JSON mapping, default values included).</summary>
    Json,

    /// <summary>RFC 4180 CSV, one row per listed item, for spreadsheets and scripts (list and show commands).</summary>
    Csv,
}

/// <summary>
/// Options shared by several commands, each with a parser whose error reads
/// <c>--name: 'value' must be …</c>, so bad input ends as one line and exit code 2.
/// </summary>
internal static class CommonOptions
{
    /// <summary>--coordinator and the credentials to reach it (--cert, --key, --ca, --token-file).</summary>
    public static Connection.CoordinatorOptions Coordinator(CliEnvironment env) => new(env);

    /// <summary>--coordinator alone; https:// is TLS, http:// cleartext HTTP/2 (h2c, a coordinator in insecure mode).</summary>
    public static Option<Uri> CoordinatorAddress(CliEnvironment env) => new("--coordinator")
    {
        Description = $"The coordinator's gRPC address, https:// (TLS) or http:// (cleartext, insecure mode); default from ${CliEnvironment.CoordinatorVariable}",
        HelpName = "URL",
        DefaultValueFactory = r =>
        {
            string? fromEnv = env.Variable(CliEnvironment.CoordinatorVariable);
            if (string.IsNullOrWhiteSpace(fromEnv))
            {
                return new Uri(CliEnvironment.DefaultCoordinator);
            }

            return ParseUrl(fromEnv) ?? Fail<Uri>(r, $"${CliEnvironment.CoordinatorVariable}: '{fromEnv}' must be a URL like {CliEnvironment.DefaultCoordinator}", new Uri(CliEnvironment.DefaultCoordinator));
        },
        CustomParser = r => Single(r) is { } text
            ? ParseUrl(text) ?? Fail<Uri>(r, $"--coordinator: '{text}' must be a URL like {CliEnvironment.DefaultCoordinator}", new Uri(CliEnvironment.DefaultCoordinator))
            : new Uri(CliEnvironment.DefaultCoordinator),
    };

    /// <summary>--output table|json, and csv where <paramref name="csv"/>; read it with <see cref="OutputOf"/>.</summary>
    public static Option<OutputFormat?> Output(bool csv = false)
    {
        string allowed = csv ? "table, json or csv" : "table or json";
        return new("--output", "-o")
        {
            Description = csv
                ? "table (readable), json (the protobuf message) or csv (one row per item) [default: table]"
                : "table (readable) or json (the protobuf message) [default: table]",
            HelpName = csv ? "table|json|csv" : "table|json",
            CustomParser = r => Single(r) switch
            {
                null => null,
                { } t when t.Equals("table", StringComparison.OrdinalIgnoreCase) => OutputFormat.Table,
                { } t when t.Equals("json", StringComparison.OrdinalIgnoreCase) => OutputFormat.Json,
                { } t when csv && t.Equals("csv", StringComparison.OrdinalIgnoreCase) => OutputFormat.Csv,
                { } t => Fail<OutputFormat?>(r, $"--output: '{t}' must be {allowed}", null),
            },
        };
    }

    /// <summary>The output format chosen, table when none.</summary>
    public static OutputFormat OutputOf(this ParseResult r, Option<OutputFormat?> option) => r.GetValue(option) ?? OutputFormat.Table;

    /// <summary>A duration option in ns; <paramref name="examples"/> appear in the error message.</summary>
    public static Option<long?> Duration(string name, string description, string examples) => new(name)
    {
        Description = description,
        HelpName = "duration",
        CustomParser = r => Single(r) is { } text
            ? DurationText.TryParseNs(text, out long ns) ? ns : Fail<long?>(r, $"{name}: '{text}' must be a duration like {examples}", null)
            : null,
    };

    /// <summary>An instant option in unix ns: ISO 8601 date or date and time, UTC unless an offset is given (2026-11-01, 2026-11-01T06:00).</summary>
    public static Option<long?> Instant(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "utc-time",
        CustomParser = r => Single(r) is { } text
            ? DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out DateTimeOffset t)
                && t > DateTimeOffset.UnixEpoch
                ? TimeNs.FromUnix(t)
                : Fail<long?>(r, $"{name}: '{text}' must be a UTC date or time like 2026-11-01 or 2026-11-01T06:00", null)
            : null,
    };

    /// <summary>
    /// An instant in unix ns: RFC 3339 (2026-12-02T16:45:00Z, 2026-12-02T17:45:00+01:00; UTC when no offset is given),
    /// or now, now-5s, now+1s against this machine's clock.
    /// </summary>
    public static Option<long?> RelativeInstant(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "time",
        CustomParser = r => Single(r) is { } text
            ? TryParseRelativeInstant(text, DateTimeOffset.UtcNow, out long ns)
                ? ns
                : Fail<long?>(r, $"{name}: '{text}' must be an RFC 3339 time like 2026-12-02T16:45:00Z, or now, now-5s, now+1s", null)
            : null,
    };

    /// <summary>Parses RFC 3339 or now[±duration] into unix ns, relative to <paramref name="now"/>.</summary>
    public static bool TryParseRelativeInstant(string text, DateTimeOffset now, out long unixNs)
    {
        unixNs = 0;
        string t = text.Trim();
        if (t.StartsWith("now", StringComparison.OrdinalIgnoreCase))
        {
            long nowNs = Millisampler.Common.Time.TimeNs.FromUnix(now);
            string rest = t[3..].Trim();
            if (rest.Length == 0)
            {
                unixNs = nowNs;
                return true;
            }

            if ((rest[0] == '-' || rest[0] == '+') && DurationText.TryParseNs(rest[1..], out long d))
            {
                unixNs = rest[0] == '-' ? nowNs - d : nowNs + d;
                return unixNs > 0;
            }

            return false;
        }

        if (t.Length >= 19 && t[10] is 'T' or 't' or ' '
            && DateTimeOffset.TryParse(t, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out DateTimeOffset at)
            && at > DateTimeOffset.UnixEpoch)
        {
            unixNs = Millisampler.Common.Time.TimeNs.FromUnix(at);
            return true;
        }

        return false;
    }

    /// <summary>A link-rate option in bits/s.</summary>
    public static Option<double?> Rate(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "rate",
        CustomParser = r => Single(r) is { } text
            ? RateText.TryParseBitsPerSecond(text, out double bps) ? bps : Fail<double?>(r, $"{name}: '{text}' must be a rate like 10g, 25g, 100m (bits/s)", null)
            : null,
    };

    /// <summary>θ, the burst threshold: a fraction of line rate in (0, 1].</summary>
    public static Option<double?> Threshold() => new("--threshold")
    {
        Description = "Burst threshold θ: a bin is in a burst at this fraction of line rate, (0, 1] [default: 0.5]",
        HelpName = "θ",
        CustomParser = r => Single(r) is { } text
            ? double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double v) && v > 0 && v <= 1
                ? v
                : Fail<double?>(r, $"--threshold: '{text}' must be a fraction of line rate in (0, 1], like 0.5", null)
            : null,
    };

    /// <summary>k, hosts bursting at once that make a synchronized event: at least 2.</summary>
    public static Option<int?> MinHosts() => new("--min-hosts")
    {
        Description = "Hosts bursting at once that make a synchronized event, at least 2 [default: 2]",
        HelpName = "k",
        CustomParser = r => Single(r) is { } text
            ? int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int k) && k >= 2
                ? k
                : Fail<int?>(r, $"--min-hosts: '{text}' must be a whole number of hosts, at least 2", null)
            : null,
    };

    /// <summary>A whole number in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public static Option<int?> Count(string name, string description, string helpName, int min, int max) => new(name)
    {
        Description = description,
        HelpName = helpName,
        CustomParser = r => Single(r) is { } text
            ? int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n >= min && n <= max
                ? n
                : Fail<int?>(r, $"{name}: '{text}' must be a whole number from {min} to {max}", null)
            : null,
    };

    /// <summary>Comma-separated names; the option may also repeat: --hosts a,b --hosts c.</summary>
    public static Option<string[]> NameList(string name, string description, string helpName) => new(name)
    {
        Description = description,
        HelpName = helpName,
        Arity = ArgumentArity.OneOrMore,
        AllowMultipleArgumentsPerToken = false,
        CustomParser = r =>
        {
            var names = new List<string>();
            foreach (Token t in r.Tokens)
            {
                names.AddRange(t.Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));
            }

            return names.Count > 0 || r.Tokens.Count == 0
                ? [.. names.Distinct(StringComparer.Ordinal)]
                : Fail<string[]>(r, $"{name}: '{string.Join(",", r.Tokens.Select(t => t.Value))}' must name at least one host, like h1,h2", []);
        },
    };

    private static Uri? ParseUrl(string text) =>
        Uri.TryCreate(text.Trim(), UriKind.Absolute, out Uri? uri)
        && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
        && !string.IsNullOrEmpty(uri.Host)
            ? uri
            : null;

    private static string? Single(ArgumentResult r) => r.Tokens.Count == 0 ? null : r.Tokens[^1].Value;

    private static T Fail<T>(ArgumentResult r, string message, T fallback)
    {
        r.AddError(message);
        return fallback;
    }
}
