using System.Text;

namespace Millisampler.ServiceDefaults;

/// <summary>Label values as Prometheus users expect them: lower_snake_case, from enum names.</summary>
public static class TelemetryLabels
{
    /// <summary>
    /// "CutShort" → "cut_short"; with <paramref name="stripPrefix"/> "HostOutcome", "HostOutcomeCollected" → "collected".
    /// </summary>
    public static string Snake(string pascal, string? stripPrefix = null)
    {
        ArgumentNullException.ThrowIfNull(pascal);
        if (stripPrefix is { Length: > 0 } && pascal.Length > stripPrefix.Length && pascal.StartsWith(stripPrefix, StringComparison.Ordinal))
        {
            pascal = pascal[stripPrefix.Length..];
        }

        var sb = new StringBuilder(pascal.Length + 4);
        for (int i = 0; i < pascal.Length; i++)
        {
            char c = pascal[i];
            if (char.IsUpper(c))
            {
                if (i > 0 && (char.IsLower(pascal[i - 1]) || char.IsDigit(pascal[i - 1])))
                {
                    sb.Append('_');
                }

                sb.Append(char.ToLowerInvariant(c));
            }
            else
            {
                sb.Append(c == '-' ? '_' : c);
            }
        }

        return sb.ToString();
    }

    /// <summary><see cref="Snake(string, string?)"/> of an enum value's name.</summary>
    public static string Snake<T>(T value, string? stripPrefix = null) where T : struct, Enum =>
        Snake(value.ToString(), stripPrefix);
}
