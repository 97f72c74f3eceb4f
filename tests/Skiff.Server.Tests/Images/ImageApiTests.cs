using System.Formats.Tar;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Skiff.Server.Tests.Infrastructure;
using Xunit;

namespace Skiff.Server.Tests.Images;

// /images over real HTTP: tarballs built here (docker save layout, one layer), sent as request bodies.
public sealed class ImageApiTests
{
    /// <summary>A docker save tarball with one uncompressed layer holding <paramref name="files"/> (name → content).</summary>
    internal static byte[] DockerTarball(params (string Name, byte[] Content)[] files)
    {
        using var layer = new MemoryStream();
        using (var writer = new TarWriter(layer, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var (name, content) in files)
            {
                writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = new MemoryStream(content), Mode = (UnixFileMode)0x1A4 });
            }
        }
        var manifest = Encoding.UTF8.GetBytes("""[{"Config":null,"RepoTags":["x:latest"],"Layers":["l/layer.tar"]}]""");
        using var archive = new MemoryStream();
        using (var writer = new TarWriter(archive, TarEntryFormat.Pax, leaveOpen: true))
        {
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "manifest.json") { DataStream = new MemoryStream(manifest) });
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "l/layer.tar") { DataStream = new MemoryStream(layer.ToArray()) });
        }
        return archive.ToArray();
    }

    internal static byte[] Tarball(string content) => DockerTarball(("hello.txt", Encoding.UTF8.GetBytes(content)));

    private static async Task<HttpResponseMessage> ImportAsync(HttpClient client, string query, byte[] body, string contentType = "application/x-tar")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/images" + query) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        // As the CLI sends it: a body the server refuses up front (too large) is then never sent.
        request.Headers.ExpectContinue = true;
        return await client.SendAsync(request);
    }

    private static async Task<JsonObject> ProblemAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        Assert.Equal(expected, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    [Fact]
    public async Task Images_ImportListReimportForceDelete_FollowTagRules()
    {
        await using var server = await SkiffTestServer.StartAsync(maxWorkers: 0);

        var one = Tarball("one");
        using var created = await ImportAsync(server.Client, "?name=team/app:1", one);
        var first = await SkiffTestServer.ReadJsonAsync(created, HttpStatusCode.Created);
        using var same = await ImportAsync(server.Client, "?name=team/app:1", one);
        var unchanged = await SkiffTestServer.ReadJsonAsync(same, HttpStatusCode.OK);
        using var other = await ImportAsync(server.Client, "?name=team/app:1", Tarball("two"));
        var conflict = await ProblemAsync(other, HttpStatusCode.Conflict);
        using var forcedResponse = await ImportAsync(server.Client, "?name=team/app:1&force=true", Tarball("two"));
        var forced = await SkiffTestServer.ReadJsonAsync(forcedResponse, HttpStatusCode.Created);

        Assert.Equal("created", (string)first["outcome"]!);
        Assert.Equal("team/app", (string)first["image"]!["name"]!);
        Assert.Equal("1", (string)first["image"]!["tag"]!);
        Assert.Equal("unchanged", (string)unchanged["outcome"]!);
        Assert.Contains("immutable", (string)conflict["detail"]!, StringComparison.Ordinal);
        Assert.Equal("replaced", (string)forced["outcome"]!);
        Assert.NotEqual((string)first["image"]!["digest"]!, (string)forced["image"]!["digest"]!);

        var list = await server.GetJsonAsync("/images");
        var items = list["items"]!.AsArray().Select(i => i!.AsObject()).ToList();
        Assert.Contains(items, i => (string)i["name"]! == "busybox" && (bool)i["builtIn"]!);
        Assert.Contains(items, i => (string)i["name"]! == "host" && (bool)i["builtIn"]!);
        var app = Assert.Single(items, i => (string)i["name"]! == "team/app");
        Assert.Equal((string)forced["image"]!["digest"]!, (string)app["digest"]!);
        Assert.False((bool)app["builtIn"]!);
        Assert.True((long)app["size"]! > 0);
        Assert.NotNull(app["createdAt"]);

        using var deleted = await server.Client.DeleteAsync("/images/team/app:1");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        using var again = await server.Client.DeleteAsync("/images/team/app:1");
        await ProblemAsync(again, HttpStatusCode.NotFound);
        using var builtIn = await server.Client.DeleteAsync("/images/busybox");
        Assert.Contains("built-in", (string)(await ProblemAsync(builtIn, HttpStatusCode.Conflict))["detail"]!, StringComparison.Ordinal);
        Assert.DoesNotContain((await server.GetJsonAsync("/images"))["items"]!.AsArray(), i => (string)i!["name"]! == "team/app");
        // Nothing of the removed image or of the uploads is left on disk.
        var images = Path.Combine(server.DataDirectory, "images");
        Assert.Empty(Directory.Exists(Path.Combine(images, "rootfs")) ? Directory.GetDirectories(Path.Combine(images, "rootfs")) : []);
        Assert.Empty(Directory.Exists(Path.Combine(images, "uploads")) ? Directory.GetFiles(Path.Combine(images, "uploads")) : []);
    }

    [Fact]
    public async Task Images_NonAdmin_MayListButNotImportOrDelete()
    {
        await using var server = await SkiffTestServer.StartAsync(maxWorkers: 0);
        using var created = await ImportAsync(server.Client, "?name=shared", Tarball("x"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var user = await server.CreateUserAsync("imager");

        using var import = await ImportAsync(user.Client, "?name=mine", Tarball("y"));
        using var delete = await user.Client.DeleteAsync("/images/shared");
        using var list = await user.Client.GetAsync("/images");
        using var anonymous = await server.Anonymous.GetAsync("/images");

        await ProblemAsync(import, HttpStatusCode.Forbidden);
        await ProblemAsync(delete, HttpStatusCode.Forbidden);
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        Assert.Contains("\"shared\"", await list.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Null((await server.GetJsonAsync("/images"))["items"]!.AsArray().FirstOrDefault(i => (string)i!["name"]! == "mine"));
    }

    [Theory]
    [InlineData("", "name")]
    [InlineData("?name=Bad%20Name", "name")]
    [InlineData("?name=ok&force=maybe", "force")]
    public async Task Import_BadQuery_400NamingField(string query, string field)
    {
        await using var server = await SkiffTestServer.StartAsync(maxWorkers: 0);

        using var response = await ImportAsync(server.Client, query, Tarball("x"));

        var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.NotNull(problem["errors"]![field]);
    }

    [Fact]
    public async Task Import_HostileOrBrokenBodies_400NamingBodyAndNothingLeft()
    {
        await using var server = await SkiffTestServer.StartAsync(maxWorkers: 0);
        byte[][] bodies =
        [
            DockerTarball(("../../escape.txt", "x"u8.ToArray())),
            DockerTarball(("/etc/evil", "x"u8.ToArray())),
            Encoding.UTF8.GetBytes("not a tarball"),
            [],
        ];

        foreach (var body in bodies)
        {
            using var response = await ImportAsync(server.Client, "?name=hostile", body);
            var problem = await ProblemAsync(response, HttpStatusCode.BadRequest);
            Assert.NotNull(problem["errors"]!["body"]);
        }
        using var wrongType = await ImportAsync(server.Client, "?name=hostile", Tarball("x"), "application/json");
        await ProblemAsync(wrongType, HttpStatusCode.UnsupportedMediaType);

        Assert.DoesNotContain((await server.GetJsonAsync("/images"))["items"]!.AsArray(), i => (string)i!["name"]! == "hostile");
        var images = Path.Combine(server.DataDirectory, "images");
        foreach (var scratch in (string[])["rootfs", "staging", "uploads"])
        {
            var path = Path.Combine(images, scratch);
            Assert.Empty(Directory.Exists(path) ? Directory.GetFileSystemEntries(path) : []);
        }
        Assert.False(File.Exists(Path.Combine(server.DataDirectory, "escape.txt")));
    }

    [Fact]
    public async Task Import_LargerThanJsonLimitButWithinImageLimit_Accepted_AndOverLimit413()
    {
        await using var server = await SkiffTestServer.StartAsync(maxWorkers: 0, new Dictionary<string, string?> { ["Skiff:Images:MaxArchiveMb"] = "3" });
        // Random bytes: the tarball stays ~2 MB, over the server's 1 MB JSON body limit.
        var two = DockerTarball(("blob.bin", RandomNumberGenerator.GetBytes(2 * 1024 * 1024)));
        var four = DockerTarball(("blob.bin", RandomNumberGenerator.GetBytes(4 * 1024 * 1024)));

        using var accepted = await ImportAsync(server.Client, "?name=big", two);
        using var refused = await ImportAsync(server.Client, "?name=bigger", four);

        Assert.Equal(HttpStatusCode.Created, accepted.StatusCode);
        Assert.Contains("MaxArchiveMb", (string)(await ProblemAsync(refused, HttpStatusCode.RequestEntityTooLarge))["detail"]!, StringComparison.Ordinal);
        Assert.DoesNotContain((await server.GetJsonAsync("/images"))["items"]!.AsArray(), i => (string)i!["name"]! == "bigger");
    }

    [Fact]
    public async Task Submit_ProcessExecutor_AcceptsAnyWellFormedImage()
    {
        // The process executor ignores images: existing clients that name one keep working.
        await using var server = await SkiffTestServer.StartAsync(maxWorkers: 0);

        var task = await server.SubmitAsync(TaskJson.Command("true").With("image", "not-imported"));

        Assert.Equal("not-imported", (string)task["image"]!);
    }

    [Fact]
    public async Task Submit_RuncExecutorUnknownImage_400NamingImage()
    {
        await using var server = await SkiffTestServer.StartAsync(maxWorkers: 0, new Dictionary<string, string?> { ["Skiff:Executor"] = "runc" });

        using var unknown = await server.PostJsonAsync("/tasks", TaskJson.Command("true").With("image", "nosuch:1").ToJsonString());
        var known = await server.SubmitAsync(TaskJson.Command("true").With("image", "host"));

        var problem = await ProblemAsync(unknown, HttpStatusCode.BadRequest);
        Assert.Contains("nosuch:1", problem["errors"]!["image"]![0]!.ToString(), StringComparison.Ordinal);
        Assert.Equal("host", (string)known["image"]!);
    }
}
