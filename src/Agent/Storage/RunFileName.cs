using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using Millisampler.Contracts.V1;

namespace Millisampler.Agent.Storage;

/// <summary>
/// What listing and retention need about a stored run, encoded in its file name so neither opens
/// the file: <c>{startTaiNs:D19}_{binWidthNs}_{origin}_{escapedRunId}.run</c>. Zero-padded start
/// makes <c>ls</c> order match time order.
/// </summary>
/// <remarks>
/// Run ids are caller-chosen. The escaped form keeps ASCII letters, digits, '-' and '_' and writes
/// every other UTF-8 byte as <c>~HH</c> (upper-case hex), so it never holds '.', '/', or a
/// separator the file system interprets, and the mapping is one-to-one (a name whose id is not in
/// canonical escaped form is not ours). The id is the last field, so '_' inside it needs no escape.
/// </remarks>
internal readonly record struct RunFileName(string RunId, long StartTaiNs, long BinWidthNs, RunOrigin Origin)
{
    /// <summary>Extension of a complete run file.</summary>
    public const string Extension = ".run";

    /// <summary>
    /// Longest run id, in UTF-8 bytes. Escaped (3 characters a byte at worst) it stays within the
    /// 255-byte file name limit of ext4/xfs together with the other fields.
    /// </summary>
    public const int MaxRunIdUtf8Bytes = 64;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The file name (no directory).</summary>
    public string Format() => string.Create(CultureInfo.InvariantCulture,
        $"{StartTaiNs:D19}_{BinWidthNs}_{(int)Origin}_{Escape(RunId)}{Extension}");

    /// <summary>Parses a name produced by <see cref="Format"/>; false for anything else.</summary>
    public static bool TryParse(string fileName, out RunFileName name)
    {
        name = default;
        if (!fileName.EndsWith(Extension, StringComparison.Ordinal))
        {
            return false;
        }

        var parts = fileName[..^Extension.Length].Split('_', 4);
        if (parts.Length != 4
            || parts[0].Length != 19
            || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out long start)
            || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out long width)
            || !int.TryParse(parts[2], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int origin)
            || !TryUnescape(parts[3], out string? runId))
        {
            return false;
        }

        name = new RunFileName(runId, start, width, (RunOrigin)origin);
        return name.Format() == fileName;
    }

    /// <summary>
    /// Checks a caller-chosen run id: 1 to <see cref="MaxRunIdUtf8Bytes"/> UTF-8 bytes, valid
    /// Unicode, no control characters, no path separators ('/' or '\').
    /// </summary>
    public static bool IsValidRunId(string? runId, [NotNullWhen(false)] out string? error)
    {
        if (string.IsNullOrEmpty(runId))
        {
            error = "run_id is empty";
            return false;
        }

        foreach (char c in runId)
        {
            if (char.IsControl(c))
            {
                error = "run_id contains a control character";
                return false;
            }

            if (c is '/' or '\\')
            {
                error = "run_id contains a path separator ('/' or '\\')";
                return false;
            }
        }

        int bytes;
        try
        {
            bytes = StrictUtf8.GetByteCount(runId);
        }
        catch (EncoderFallbackException)
        {
            error = "run_id is not valid Unicode (unpaired surrogate)";
            return false;
        }

        if (bytes > MaxRunIdUtf8Bytes)
        {
            error = $"run_id is {bytes} UTF-8 bytes long; at most {MaxRunIdUtf8Bytes} are allowed";
            return false;
        }

        error = null;
        return true;
    }

    /// <summary>The escaped form of a valid run id (see the type remarks).</summary>
    public static string Escape(string runId)
    {
        var bytes = StrictUtf8.GetBytes(runId);
        var sb = new StringBuilder(bytes.Length * 3);
        foreach (byte b in bytes)
        {
            if (IsPlain(b))
            {
                sb.Append((char)b);
            }
            else
            {
                sb.Append('~').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return sb.ToString();
    }

    /// <summary>Reverses <see cref="Escape"/>; false unless the input is canonical and the id valid.</summary>
    public static bool TryUnescape(string escaped, [NotNullWhen(true)] out string? runId)
    {
        runId = null;
        var bytes = new List<byte>(escaped.Length);
        for (int i = 0; i < escaped.Length; i++)
        {
            char c = escaped[i];
            if (c == '~')
            {
                if (i + 2 >= escaped.Length
                    || !byte.TryParse(escaped.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out byte b))
                {
                    return false;
                }

                bytes.Add(b);
                i += 2;
            }
            else if (c < 0x80 && IsPlain((byte)c))
            {
                bytes.Add((byte)c);
            }
            else
            {
                return false;
            }
        }

        string decoded;
        try
        {
            decoded = StrictUtf8.GetString(bytes.ToArray());
        }
        catch (DecoderFallbackException)
        {
            return false;
        }

        if (!IsValidRunId(decoded, out _) || Escape(decoded) != escaped)
        {
            return false;
        }

        runId = decoded;
        return true;
    }

    private static bool IsPlain(byte b) =>
        b is (>= (byte)'a' and <= (byte)'z') or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'0' and <= (byte)'9') or (byte)'-' or (byte)'_';
}
