using System.Net;
using Skiff.Cli;
using Skiff.Testing;
using Xunit;

namespace Skiff.EndToEnd.Tests.Cli;

/// <summary><c>skiff secret ...</c> in process against a scripted API: where the value comes from and what is sent.</summary>
public sealed class SecretCliTests
{
    private const string Url = "http://127.0.0.1:7070";
    private const string Answer = """{"name":"db","scope":"user","version":3,"createdAt":"2026-01-02T03:04:05Z","updatedAt":"2026-01-02T03:04:05Z"}""";

    private static (SkiffCli Cli, StringWriter Out, StringWriter Error) Create(FakeApi api, string stdin = "")
    {
        var (output, error) = (new StringWriter(), new StringWriter());
        var environment = new CliEnvironment
        {
            Out = output,
            Error = error,
            In = new StringReader(stdin),
            GetEnvironmentVariable = _ => null,
            CurrentDirectory = Path.GetTempPath(),
            HttpHandler = api,
            SelfCommand = ["skiff"],
        };
        return (new SkiffCli(environment), output, error);
    }

    [Theory]
    [InlineData("s3cret\n", """{"value":"s3cret"}""")]
    [InlineData("s3cret\r\n", """{"value":"s3cret"}""")]
    [InlineData("line1\nline2\n\n", """{"value":"line1\nline2\n"}""")]
    public async Task SecretSet_ValueFromStdin_OneTrailingNewlineRemoved(string stdin, string body)
    {
        var api = new FakeApi().On(HttpMethod.Put, "/secrets/db", HttpStatusCode.OK, Answer);
        var (cli, output, _) = Create(api, stdin);

        var exitCode = await cli.RunAsync(["secret", "set", "db", "--url", Url, "--api-key", "k"], CancellationToken.None);

        Assert.Equal(0, exitCode);
        Assert.Equal(body, Assert.Single(api.Requests).Body);
        Assert.Equal("db user version 3", output.ToString().Trim());
    }

    [Fact]
    public async Task SecretSet_FromFileShared_FileBytesSentAsIsWithScope()
    {
        using var directory = new TempDirectory();
        var file = directory.Combine("cert.pem");
        await File.WriteAllTextAsync(file, "-----BEGIN-----\nabc\n");
        var api = new FakeApi().On(HttpMethod.Put, "/secrets/tls?scope=shared", HttpStatusCode.Created, Answer);
        var (cli, _, _) = Create(api);

        var exitCode = await cli.RunAsync(["secret", "set", "tls", "--from-file", file, "--shared", "--url", Url, "--api-key", "k"], CancellationToken.None);

        Assert.Equal(0, exitCode);
        Assert.Equal("""{"value":"-----BEGIN-----\nabc\n"}""", Assert.Single(api.Requests).Body);
    }

    [Fact]
    public async Task SecretSet_ValueAndFromFile_UsageErrorAndNothingSent()
    {
        var api = new FakeApi();
        var (cli, output, error) = Create(api);

        var exitCode = await cli.RunAsync(["secret", "set", "db", "--value", "x", "--from-file", "f", "--url", Url], CancellationToken.None);

        Assert.Equal(ExitCodes.Usage, exitCode);
        Assert.Empty(api.Requests);
        Assert.Equal("", output.ToString());
        Assert.StartsWith("error: give the value with --value or --from-file", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SecretSet_ServerRefusesTheName_OneErrorLineNamingTheField()
    {
        var api = new FakeApi().On(HttpMethod.Put, "/secrets/a%2Fb", _ => FakeApi.Json(HttpStatusCode.BadRequest,
            """{"title":"The request is invalid","status":400,"detail":"name: must be 1–256 characters","errors":{"name":["must be 1–256 characters"]}}""",
            "application/problem+json"));
        var (cli, _, error) = Create(api, "v\n");

        var exitCode = await cli.RunAsync(["secret", "set", "a/b", "--url", Url, "--api-key", "k"], CancellationToken.None);

        Assert.Equal(ExitCodes.Failure, exitCode);
        Assert.Equal("error: name: must be 1–256 characters", error.ToString().Trim());
    }

    [Fact]
    public async Task SecretLsAndRm_ListShowsNamesAndRmDeletes()
    {
        var api = new FakeApi()
            .On(HttpMethod.Get, "/secrets", HttpStatusCode.OK, "{\"items\":[" + Answer + "]}")
            .On(HttpMethod.Delete, "/secrets/db", _ => new HttpResponseMessage(HttpStatusCode.NoContent));
        var (cli, output, _) = Create(api);

        Assert.Equal(0, await cli.RunAsync(["secret", "ls", "--url", Url, "--api-key", "k"], CancellationToken.None));
        Assert.Equal(0, await cli.RunAsync(["secret", "rm", "db", "--url", Url, "--api-key", "k"], CancellationToken.None));

        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("NAME  SCOPE  VERSION  UPDATED", lines[0]);
        Assert.Equal("db    user   3        2026-01-02 03:04:05Z", lines[1]);
        Assert.Equal("db deleted", lines[2]);
    }

    [Fact]
    public async Task Submit_Secret_SentAsNameMapping()
    {
        var api = new FakeApi().On(HttpMethod.Post, "/tasks", HttpStatusCode.Created, """{"taskId":"t_1","status":"queued"}""");
        var (cli, _, _) = Create(api);

        var exitCode = await cli.RunAsync(["submit", "--url", Url, "--api-key", "k", "--secret", "DB_PASSWORD=db-creds", "--", "env"], CancellationToken.None);

        Assert.Equal(0, exitCode);
        Assert.Equal("""{"command":["env"],"secrets":{"DB_PASSWORD":"db-creds"}}""", Assert.Single(api.Requests).Body);
    }
}
