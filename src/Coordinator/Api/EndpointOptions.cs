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

    /// <summary>
    /// gRPC over HTTP/2 with TLS (https://; agents and the CLI), or cleartext h2c (http://) with <c>Security:Insecure=true</c>.
    /// Port 0 = any free port. Default <c>https://127.0.0.1:7400</c> (loopback: a deployment names the address agents reach).
    /// </summary>
    public string GrpcUrl { get; set; } = "";

    /// <summary>JSON over HTTP/1.1 (curl, browsers), plus /healthz; https:// unless insecure. Port 0 = any free port. Default <c>https://127.0.0.1:7401</c>.</summary>
    public string HttpUrl { get; set; } = "";

    /// <summary>
    /// Optional plain HTTP/1.1 address (http:// only) serving nothing but /metrics, /healthz and /readyz, for Prometheus
    /// and probes that hold no certificate (as the agent's <c>Agent:MetricsListen</c>). Empty (default): none; they are
    /// then served on <see cref="HttpUrl"/> with the rest.
    /// </summary>
    public string MetricsUrl { get; set; } = "";

    /// <summary><see cref="GrpcUrl"/>, or its default for the mode.</summary>
    public string EffectiveGrpcUrl(bool insecure) => GrpcUrl is { Length: > 0 } u ? u : (insecure ? "http" : "https") + "://127.0.0.1:7400";

    /// <summary><see cref="HttpUrl"/>, or its default for the mode.</summary>
    public string EffectiveHttpUrl(bool insecure) => HttpUrl is { Length: > 0 } u ? u : (insecure ? "http" : "https") + "://127.0.0.1:7401";
}

/// <summary>Checks that both URLs are http://host:port Kestrel can bind, on different ports.</summary>
internal sealed class EndpointOptionsValidator : IValidateOptions<EndpointOptions>
{
    public ValidateOptionsResult Validate(string? name, EndpointOptions o)
    {
        var errors = new List<string>();
        BindingAddress? grpc = Check(nameof(EndpointOptions.GrpcUrl), o.EffectiveGrpcUrl(insecure: false), errors);
        BindingAddress? http = Check(nameof(EndpointOptions.HttpUrl), o.EffectiveHttpUrl(insecure: false), errors);
        if (grpc is not null && http is not null && grpc.Port == http.Port && grpc.Port != 0)
        {
            errors.Add($"{nameof(EndpointOptions.GrpcUrl)} and {nameof(EndpointOptions.HttpUrl)} use the same port {grpc.Port}: gRPC is served on HTTP/2 only and JSON on HTTP/1.1, each on its own port.");
        }

        if (!string.IsNullOrWhiteSpace(o.MetricsUrl) && Check(nameof(EndpointOptions.MetricsUrl), o.MetricsUrl, errors) is { } metrics)
        {
            if (metrics.Scheme != "http")
            {
                errors.Add($"{nameof(EndpointOptions.MetricsUrl)}: '{o.MetricsUrl}' must use http://: it is the plain port for Prometheus and probes.");
            }
            else if (metrics.Port != 0 && (metrics.Port == grpc?.Port || metrics.Port == http?.Port))
            {
                errors.Add($"{nameof(EndpointOptions.MetricsUrl)}: port {metrics.Port} is already {nameof(EndpointOptions.GrpcUrl)}'s or {nameof(EndpointOptions.HttpUrl)}'s; it needs its own.");
            }
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
            errors.Add($"{field}: '{url}' is not a URL like https://198.18.0.1:7400.");
            return null;
        }

        if (address.Scheme is not ("http" or "https"))
        {
            errors.Add($"{field}: '{url}' must use https:// (or http:// with Security:Insecure=true).");
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
