using System.Net;
using System.Net.Http.Json;
using System.Text;
using Millisampler.Coordinator.Tests.Captures;
using Millisampler.Coordinator.Tests.Infrastructure;

namespace Millisampler.Coordinator.Tests.Api;

/// <summary>The JSON API takes only JSON, answers no cross-origin requests, and names fields as the client wrote them.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class JsonApiHygieneTests
{
    private const string Body = """{"rack":"r1","binWidthNs":"1000000","bins":10}""";

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("multipart/form-data")]
    public async Task PostCapture_NotJson_415AndNoCaptureStarted(string mediaType)
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync();
        await c.AddAgentsAsync(1);

        using var content = new StringContent(Body, Encoding.UTF8);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(mediaType);
        using HttpResponseMessage post = await c.Http.PostAsync("/api/captures", content);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, post.StatusCode);
        ApiErrorBody? error = await post.Content.ReadFromJsonAsync<ApiErrorBody>();
        Assert.Contains("application/json", error!.Message, StringComparison.Ordinal);
        Assert.Empty((await c.Client.ListCapturesAsync(new Contracts.V1.ListCapturesRequest())).Captures);
    }

    [Fact]
    public async Task CrossOrigin_NoCorsHeaders_PreflightNotAllowed()
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync();
        await c.AddAgentsAsync(1);

        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/api/captures");
        preflight.Headers.Add("Origin", "http://evil.example");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "content-type");
        using HttpResponseMessage answer = await c.Http.SendAsync(preflight);
        Assert.False(answer.Headers.Contains("Access-Control-Allow-Origin"));
        Assert.NotEqual(HttpStatusCode.NoContent, answer.StatusCode);

        using var get = new HttpRequestMessage(HttpMethod.Get, "/api/racks");
        get.Headers.Add("Origin", "http://evil.example");
        using HttpResponseMessage racks = await c.Http.SendAsync(get);
        Assert.Equal(HttpStatusCode.OK, racks.StatusCode);
        Assert.False(racks.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Theory]
    [InlineData("""{"rack":"r1","binWidthNs":"1000","bins":10}""", "binWidthNs: 1000 is out of range")]
    [InlineData("""{"rack":"r1","bin_width_ns":"1000","bins":10}""", "bin_width_ns: 1000 is out of range")]
    [InlineData("""{"rack":"r1","binWidthNs":"1000000","bins":10,"leadTimeNs":"1"}""", "leadTimeNs: 1 is out of range")]
    [InlineData("""{"rack":"r1","binWidthNs":"1000000","bins":"many"}""", "bins: ")]
    [InlineData("""{"rack":"r1","binWidthNs":"1000000","bins":10,"burstThreshhold":0.5}""", "burstThreshhold: ")]
    public async Task PostCapture_BadField_ErrorNamesItAsWritten(string body, string expectedStart)
    {
        await using TestCoordinator c = await TestCoordinator.StartAsync();
        await c.AddAgentsAsync(1);

        using HttpResponseMessage post = await c.Http.PostAsync("/api/captures", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, post.StatusCode);
        ApiErrorBody? error = await post.Content.ReadFromJsonAsync<ApiErrorBody>();
        Assert.Equal("INVALID_ARGUMENT", error!.Code);
        Assert.StartsWith(expectedStart, error.Message, StringComparison.Ordinal);
    }

    private sealed record ApiErrorBody(string Code, string Message);
}
