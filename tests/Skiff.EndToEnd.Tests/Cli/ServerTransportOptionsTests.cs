using Xunit;

namespace Skiff.EndToEnd.Tests.Cli;

/// <summary><c>skiff server --tls-cert --tls-key --cors-origin</c> reach the server's options.</summary>
public sealed class ServerTransportOptionsTests
{
    [Fact]
    public void Parse_TlsFiles_MadeAbsoluteFromTheWorkingDirectory()
    {
        var cli = new CliTestHost(currentDirectory: "/home/me/project").Cli;

        var options = cli.Server.BuildOptions(cli.Parse(["server", "--urls", "https://127.0.0.1:7443", "--tls-cert", "tls/cert.pem", "--tls-key", "/etc/skiff/key.pem"]));

        Assert.Equal("/home/me/project/tls/cert.pem", options.TlsCertificateFile);
        Assert.Equal("/etc/skiff/key.pem", options.TlsKeyFile);
        Assert.Equal("https://127.0.0.1:7443", options.Urls);
    }

    [Fact]
    public void Parse_NoTransportFlags_NoTlsAndNoOrigins()
    {
        var cli = new CliTestHost().Cli;

        var options = cli.Server.BuildOptions(cli.Parse(["server"]));

        Assert.Null(options.TlsCertificateFile);
        Assert.Null(options.TlsKeyFile);
        Assert.Empty(options.CorsOrigins ?? []);
    }

    [Fact]
    public void Parse_CorsOriginRepeated_EveryOriginKeptInOrder()
    {
        var cli = new CliTestHost().Cli;

        var options = cli.Server.BuildOptions(cli.Parse(["server", "--cors-origin", "https://a.example.com", "--cors-origin", "http://127.0.0.1:8080"]));

        Assert.Equal(["https://a.example.com", "http://127.0.0.1:8080"], options.CorsOrigins);
    }
}
