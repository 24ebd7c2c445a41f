using System.CommandLine;

namespace Millisampler.Cli.Connection;

/// <summary>
/// The options every coordinator command takes: the address (--coordinator) and the credentials (--cert, --key, --ca,
/// --token-file), each defaulting to its environment variable. <see cref="Open"/> reads the files and opens the
/// channel; a missing or unreadable file ends as one line naming the option (or variable) and exit code 2.
/// </summary>
internal sealed class CoordinatorOptions
{
    public CoordinatorOptions(CliEnvironment env)
    {
        Env = env;
        Address = CommonOptions.CoordinatorAddress(env);
        Certificate = File("--cert", "PEM client certificate presented to the coordinator (its key in --key, or in the same file)", CliEnvironment.CertificateVariable);
        Key = File("--key", "PEM private key of --cert (unencrypted)", CliEnvironment.KeyVariable);
        Ca = File("--ca", "PEM CA bundle the coordinator's certificate must chain to [default: this machine's trusted roots]", CliEnvironment.CaVariable);
        TokenFile = File("--token-file", "File holding a bearer token (JWT) sent to the coordinator", CliEnvironment.TokenFileVariable);
    }

    private CliEnvironment Env { get; }

    /// <summary>--coordinator.</summary>
    public Option<Uri> Address { get; }

    /// <summary>--cert.</summary>
    public Option<string?> Certificate { get; }

    /// <summary>--key.</summary>
    public Option<string?> Key { get; }

    /// <summary>--ca.</summary>
    public Option<string?> Ca { get; }

    /// <summary>--token-file.</summary>
    public Option<string?> TokenFile { get; }

    /// <summary>The five options, in help order.</summary>
    public IEnumerable<Option> All => [Address, Certificate, Key, Ca, TokenFile];

    /// <summary>Reads the credentials named on the command line or in the environment and opens a channel (lazily).</summary>
    public CoordinatorConnection Open(ParseResult r)
    {
        Uri address = r.GetValue(Address)!;
        var certificate = Named(r, Certificate, CliEnvironment.CertificateVariable);
        var key = Named(r, Key, CliEnvironment.KeyVariable);
        var ca = Named(r, Ca, CliEnvironment.CaVariable);
        var token = Named(r, TokenFile, CliEnvironment.TokenFileVariable);
        if (address.Scheme == Uri.UriSchemeHttp && (certificate ?? key ?? token) is { } given)
        {
            // A token sent over cleartext is a token given away; a certificate cannot be presented without TLS.
            throw new UsageException($"{given.Source}: credentials need an https:// coordinator, and '{address.OriginalString}' is cleartext http://");
        }

        ClientCredentials credentials = ClientCredentials.Load(certificate, key, ca, token);
        return CoordinatorConnection.Open(address, credentials);
    }

    private (string Source, string Path)? Named(ParseResult r, Option<string?> option, string variable)
    {
        if (r.GetValue(option) is { } given)
        {
            return (option.Name, given);
        }

        return Env.Variable(variable) is { Length: > 0 } fromEnv ? ("$" + variable, fromEnv) : null;
    }

    private static Option<string?> File(string name, string description, string variable) => new(name)
    {
        Description = $"{description}; default from ${variable}",
        HelpName = "file",
    };
}

/// <summary>Lets a command's collection initializer take <see cref="CoordinatorOptions"/> like one option.</summary>
internal static class CoordinatorOptionsExtensions
{
    public static void Add(this Command command, CoordinatorOptions options)
    {
        foreach (Option o in options.All)
        {
            command.Add(o);
        }
    }
}
