using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;

namespace Millisampler.ServiceDefaults.Security;

/// <summary>
/// Who a certificate names and which roles it holds. Roles come, in this order of precedence, from
/// SAN URIs <c>urn:millisampler:role:&lt;role&gt;</c>; else subject OUs equal to a role name (or
/// <c>millisampler-&lt;role&gt;</c>); else a subject CN <c>millisampler-&lt;role&gt;</c> (for generators that
/// only set the CN, such as Helm's genSignedCert). An agent's host names are its SAN DNS names.
/// </summary>
public static class CertificateIdentity
{
    /// <summary>Prefix of a role in a SAN URI.</summary>
    public const string RoleUriPrefix = "urn:millisampler:role:";

    private const string NamePrefix = "millisampler-";

    /// <summary>The roles the certificate states, lower case, among <see cref="Roles.All"/>.</summary>
    public static IReadOnlySet<string> RolesOf(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var fromUris = UrisOf(certificate)
            .Where(u => u.StartsWith(RoleUriPrefix, StringComparison.OrdinalIgnoreCase))
            .Select(u => u[RoleUriPrefix.Length..].ToLowerInvariant())
            .Where(Roles.All.Contains)
            .ToHashSet(StringComparer.Ordinal);
        if (fromUris.Count > 0)
        {
            return fromUris;
        }

        var fromOus = SubjectValues(certificate, "2.5.4.11").Select(Normalize).Where(r => r is not null).Select(r => r!)
            .ToHashSet(StringComparer.Ordinal);
        if (fromOus.Count > 0)
        {
            return fromOus;
        }

        string cn = certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
        return cn.StartsWith(NamePrefix, StringComparison.OrdinalIgnoreCase) && Normalize(cn) is { } role
            ? new HashSet<string>(StringComparer.Ordinal) { role }
            : new HashSet<string>(StringComparer.Ordinal);

        static string? Normalize(string value)
        {
            string v = value.Trim().ToLowerInvariant();
            if (v.StartsWith(NamePrefix, StringComparison.Ordinal))
            {
                v = v[NamePrefix.Length..];
            }

            return Roles.All.Contains(v) ? v : null;
        }
    }

    /// <summary>A person-readable name: the subject CN, else the first SAN DNS name, else the thumbprint.</summary>
    public static string NameOf(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        string cn = certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
        if (!string.IsNullOrWhiteSpace(cn))
        {
            return cn;
        }

        return DnsNamesOf(certificate).FirstOrDefault() ?? certificate.Thumbprint;
    }

    /// <summary>SAN DNS names, as written.</summary>
    public static IReadOnlyList<string> DnsNamesOf(X509Certificate2 certificate) => GeneralNames(certificate, 2);

    /// <summary>SAN URIs, as written.</summary>
    public static IReadOnlyList<string> UrisOf(X509Certificate2 certificate) => GeneralNames(certificate, 6);

    /// <summary>True when the certificate's SAN DNS names include <paramref name="host"/> exactly (ignoring case; no wildcards).</summary>
    public static bool Names(X509Certificate2 certificate, string host) =>
        DnsNamesOf(certificate).Any(d => string.Equals(d, host, StringComparison.OrdinalIgnoreCase));

    private static IEnumerable<string> SubjectValues(X509Certificate2 certificate, string oid)
    {
        foreach (X500RelativeDistinguishedName rdn in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            if (!rdn.HasMultipleElements && rdn.GetSingleElementType().Value == oid && rdn.GetSingleElementValue() is { } value)
            {
                yield return value;
            }
        }
    }

    // GeneralName ::= CHOICE { ..., dNSName [2] IA5String, ..., uniformResourceIdentifier [6] IA5String, ... }
    private static List<string> GeneralNames(X509Certificate2 certificate, int tag)
    {
        var names = new List<string>();
        foreach (X509Extension extension in certificate.Extensions)
        {
            if (extension.Oid?.Value != "2.5.29.17")
            {
                continue;
            }

            try
            {
                AsnReader sequence = new AsnReader(extension.RawData, AsnEncodingRules.DER).ReadSequence();
                var wanted = new Asn1Tag(TagClass.ContextSpecific, tag);
                while (sequence.HasData)
                {
                    if (sequence.PeekTag().HasSameClassAndValue(wanted))
                    {
                        names.Add(sequence.ReadCharacterString(UniversalTagNumber.IA5String, wanted));
                    }
                    else
                    {
                        sequence.ReadEncodedValue();
                    }
                }
            }
            catch (AsnContentException)
            {
                // A malformed extension names nobody.
            }
        }

        return names;
    }
}

/// <summary>Role names, and which role includes which.</summary>
public static class Roles
{
    public const string Agent = "agent";
    public const string Coordinator = "coordinator";
    public const string Viewer = "viewer";
    public const string Operator = "operator";
    public const string Admin = "admin";

    /// <summary>Every role name.</summary>
    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal) { Agent, Coordinator, Viewer, Operator, Admin };

    /// <summary>The roles <paramref name="role"/> grants: admin includes operator, operator includes viewer.</summary>
    public static IEnumerable<string> Implied(string role) => role switch
    {
        Admin => [Admin, Operator, Viewer],
        Operator => [Operator, Viewer],
        _ => [role],
    };
}
