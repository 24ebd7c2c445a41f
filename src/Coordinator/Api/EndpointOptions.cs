using System.ComponentModel.DataAnnotations;
using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;

namespace Millisampler.Coordinator.Api;

/// <summary>Where the coordinator listens. Section <c>Coordinator:Endpoints</c>.</summary>
public sealed class EndpointOptions
{
    /// <summary>Configuration section.</summary>
    public const string SectionName = "Coordinator:Endpoints";

    /// <summary>gRPC over cleartext HTTP/2 (h2c): agents and the CLI. Port 0 = any free port. Default <c>http://0.0.0.0:7400</c>.</summary>
    [Required(AllowEmptyStrings = false)]
    public string GrpcUrl { get; set; } = "http://0.0.0.0:7400";

    /// <summary>JSON over HTTP/1.1 (curl, browsers), plus /healthz. Port 0 = any free port. Default <c>http://0.0.0.0:7401</c>.</summary>
    [Required(AllowEmptyStrings = false)]
    public string HttpUrl { get; set; } = "http://0.0.0.0:7401";
}

/// <summary>Checks that both URLs are http://host:port Kestrel can bind, on different ports.</summary>
internal sealed class EndpointOptionsValidator : IValidateOptions<EndpointOptions>
{
    public ValidateOptionsResult Validate(string? name, EndpointOptions o)
    {
        var errors = new List<string>();
        BindingAddress? grpc = Check(nameof(EndpointOptions.GrpcUrl), o.GrpcUrl, errors);
        BindingAddress? http = Check(nameof(EndpointOptions.HttpUrl), o.HttpUrl, errors);
        if (grpc is not null && http is not null && grpc.Port == http.Port && grpc.Port != 0)
        {
            errors.Add($"{nameof(EndpointOptions.GrpcUrl)} and {nameof(EndpointOptions.HttpUrl)} use the same port {grpc.Port}: gRPC needs HTTP/2 without TLS, JSON clients speak HTTP/1.1, and a cleartext port serves only one of them.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>The parsed address, or null (and an error) when Kestrel could not listen on it.</summary>
    internal static BindingAddress? Check(string field, string? url, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(url))
        {
            return null;
        }

        BindingAddress address;
        try
        {
            address = BindingAddress.Parse(url);
        }
        catch (FormatException)
        {
            errors.Add($"{field}: '{url}' is not a URL like http://0.0.0.0:7400.");
            return null;
        }

        if (!string.Equals(address.Scheme, "http", StringComparison.OrdinalIgnoreCase))
        {
            errors.Add($"{field}: '{url}' must use http://; the coordinator serves cleartext (put TLS in front of it if needed).");
            return null;
        }

        if (address.Port is < 0 or > 65535)
        {
            errors.Add($"{field}: port {address.Port} is out of range 0..65535.");
            return null;
        }

        if (address.Host is not ("*" or "+" or "localhost") && !IPAddress.TryParse(address.Host.Trim('[', ']'), out _))
        {
            errors.Add($"{field}: host '{address.Host}' must be an IP address, localhost, or * (every address).");
            return null;
        }

        if (address.Host == "localhost" && address.Port == 0)
        {
            errors.Add($"{field}: localhost cannot take port 0 (it binds two addresses); use 127.0.0.1:0.");
            return null;
        }

        return address;
    }
}
