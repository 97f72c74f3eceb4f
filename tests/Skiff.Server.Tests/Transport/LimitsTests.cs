using System.Globalization;
using System.Net;
using System.Text;
using Skiff.Server.Tests.Infrastructure;
using Xunit;

namespace Skiff.Server.Tests.Transport;

/// <summary>
/// Request size limits (1 MB body, 32 KB of headers, 100 headers, 8 KB request line) answer with their 4xx,
/// never a 500, store nothing, and leave the server serving the next request.
/// </summary>
[Collection(CorsServerCollection.Name)]
public sealed class LimitsTests(CorsServerFixture fixture)
{
    private static readonly TimeSpan RawTimeout = TimeSpan.FromSeconds(30);

    private SkiffTestServer Server => fixture.Server;

    [Fact]
    public async Task Submit_ChunkedBodyOver1MB_413ProblemNothingStored()
    {
        var count = await Server.CountTasksAsync();
        // A stream of unknown length is sent chunked: the limit must hold without a Content-Length too.
        var json = Encoding.UTF8.GetBytes($$"""{"command":["echo","{{new string('a', (1024 * 1024) + 16)}}"]}""");
        using var content = new StreamContent(new UnseekableStream(json));
        content.Headers.ContentType = new("application/json");

        using (var response = await Server.Client.PostAsync("/tasks", content))
        {
            Assert.Null(response.RequestMessage?.Content?.Headers.ContentLength);
            await ProblemAssert.IsProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "body");
        }

        Assert.Equal(count, await Server.CountTasksAsync());
        await Server.AssertHealthyAsync();
    }

    [Fact]
    public async Task Submit_DeclaredContentLengthOver1MB_413WithoutWaitingForTheBody()
    {
        var request = RawHttp.Latin1(
            "POST /tasks HTTP/1.1\r\nHost: 127.0.0.1\r\n" + $"Authorization: Bearer {Server.AdminKey}\r\n"
            + "Content-Type: application/json\r\nContent-Length: 50000000\r\n\r\n{\"command\":");

        var response = await RawHttp.SendAsync(Server.BaseAddress, request, RawTimeout);

        Assert.True(response.Status == 413, response.Head);
        await Server.AssertHealthyAsync();
    }

    [Fact]
    public async Task Request_HeadersOver32KB_431AndServerKeepsServing()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/tasks");
        request.Headers.Add("X-Padding", new string('p', 33 * 1024));

        using var response = await Server.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
        await Server.AssertHealthyAsync();
    }

    [Fact]
    public async Task Request_HeadersJustUnder32KB_Served()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/tasks");
        request.Headers.Add("X-Padding", new string('p', 30 * 1024));

        using var response = await Server.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Request_Over100Headers_431AndServerKeepsServing()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/tasks");
        for (var i = 0; i < 101; i++)
        {
            request.Headers.Add("X-Header-" + i.ToString(CultureInfo.InvariantCulture), "v");
        }

        using var response = await Server.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestHeaderFieldsTooLarge, response.StatusCode);
        await Server.AssertHealthyAsync();
    }

    [Fact]
    public async Task Request_UrlOver8KB_414AndServerKeepsServing()
    {
        using var response = await Server.Client.GetAsync("/tasks/" + new string('t', 9 * 1024));

        Assert.Equal(HttpStatusCode.RequestUriTooLong, response.StatusCode);
        await Server.AssertHealthyAsync();
    }

    /// <summary>A stream that hides its length, so HttpClient must send it chunked.</summary>
    private sealed class UnseekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
