using System.Net;
using Skiff.Server.Tests.Infrastructure;
using Xunit;

namespace Skiff.Server.Tests.Hardening;

/// <summary>The 500s the hostile-input fuzz test found, each pinned down: every one is now a 4xx naming what is wrong.</summary>
[Collection(IdleServerCollection.Name)]
public sealed class HostileInputRegressionTests(IdleServerFixture fixture)
{
    private SkiffTestServer Server => fixture.Server;

    /// <summary>Regression: parameter values are JsonElements, decoded only when read, and threw on text that is not text.</summary>
    [Theory]
    [InlineData(new byte[] { 0xC3, 0x28 })]
    [InlineData(new byte[] { 0xED, 0xA0, 0x80 })]
    [InlineData(new byte[] { (byte)'\\', (byte)'u', (byte)'d', (byte)'8', (byte)'0', (byte)'0' })]
    public async Task Submit_ParameterValueNotText_400NamingParametersNothingStored(byte[] bad)
    {
        var count = await Server.CountTasksAsync();
        byte[] body = [.. "{\"type\":\"error\",\"parameters\":{\"message\":\""u8, .. bad, .. "\"}}"u8];

        using var response = await PostAsync("/tasks", body);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "parameters");
        Assert.Equal(count, await Server.CountTasksAsync());
    }

    /// <summary>Regression: the secret's value is a JsonElement too, read after validation had passed.</summary>
    [Theory]
    [InlineData(new byte[] { 0xC3, 0x28 })]
    [InlineData(new byte[] { (byte)'\\', (byte)'u', (byte)'d', (byte)'f', (byte)'f', (byte)'f' })]
    public async Task PutSecret_ValueNotText_400NamingValue(byte[] bad)
    {
        byte[] body = [.. "{\"value\":\"abc"u8, .. bad, .. "\"}"u8];

        using var response = await PostAsync("/secrets/regression-not-text", body, HttpMethod.Put);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "value");
        using var read = await Server.Client.GetAsync("/secrets");
        Assert.DoesNotContain("regression-not-text", await read.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    /// <summary>Regression: Kestrel reports a chunk size that overflows as a plain IOException, which escaped as a 500.</summary>
    [Theory]
    [InlineData("/tasks", "POST")]
    [InlineData("/users", "POST")]
    [InlineData("/secrets/regression-chunked", "PUT")]
    public async Task Body_ChunkSizeOverflows_400NotA500(string path, string method)
    {
        var request = RawHttp.Latin1($"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer {Server.AdminKey}\r\n"
            + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n{}\r\n0\r\n\r\n");

        var response = await RawHttp.SendAsync(Server.BaseAddress, request, TimeSpan.FromSeconds(30));

        Assert.True(response.Status == 400, response.Head);
        await Server.AssertHealthyAsync();
    }

    /// <summary>Regression: TarReader reports a header whose size field lies as an InvalidOperationException, which escaped as a 500.</summary>
    [Fact]
    public async Task ImportImage_TarHeaderClaims8GB_400NamingTheBody()
    {
        using var content = new ByteArrayContent(HostileCatalog.SizeClaims8GB(HostileCatalog.SmallLayoutTar()));
        content.Headers.ContentType = new("application/x-tar");

        using var response = await Server.Client.PostAsync("/images?name=regression-lying-size:1", content);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "body");
        Assert.DoesNotContain("regression-lying-size", await Server.Client.GetStringAsync("/images"), StringComparison.Ordinal);
    }

    /// <summary>Regression: the image upload read the body itself and let Kestrel's framing errors escape as 500s.</summary>
    [Theory]
    [InlineData("zz")]
    [InlineData("ffffffffffffffffff")]
    public async Task ImportImage_BrokenChunkedFraming_400NotA500(string chunkSize)
    {
        var request = RawHttp.Latin1($"POST /images?name=regression-chunked:1 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer {Server.AdminKey}\r\n"
            + $"Content-Type: application/x-tar\r\nTransfer-Encoding: chunked\r\n\r\n{chunkSize}\r\nabc\r\n0\r\n\r\n");

        var response = await RawHttp.SendAsync(Server.BaseAddress, request, TimeSpan.FromSeconds(30));

        Assert.True(response.Status == 400, response.Head);
        await Server.AssertHealthyAsync();
    }

    private Task<HttpResponseMessage> PostAsync(string path, byte[] body, HttpMethod? method = null)
    {
        var request = new HttpRequestMessage(method ?? HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new("application/json");
        return Server.Client.SendAsync(request);
    }
}
