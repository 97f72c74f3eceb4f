using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Skiff.Server.Tests.Infrastructure;
using Skiff.Testing;
using Xunit;

namespace Skiff.Server.Tests.Transport;

/// <summary>
/// <c>--tls-cert</c>/<c>--tls-key</c>: the server speaks HTTPS with a PEM certificate and key, sends HSTS, and
/// every wrong combination of files and URLs stops start-up with one line naming the flag or file.
/// </summary>
public sealed class TlsTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Start_PemCertificateAndKey_ServesHttpsWithHstsAndTheApiWorks()
    {
        using var certificate = TestCertificate.Create(_directory.Combine("tls"));
        var app = await StartAsync("https://127.0.0.1:0", certificate.CertificateFile, certificate.KeyFile);
        try
        {
            var address = new Uri(SkiffServer.BoundAddresses(app).Single());
            Assert.Equal("https", address.Scheme);
            using var client = new HttpClient(certificate.CreateTrustingHandler()) { BaseAddress = address };

            using (var health = await client.GetAsync("/health"))
            {
                Assert.Equal(HttpStatusCode.OK, health.StatusCode);
                Assert.Equal("max-age=31536000", health.Headers.GetValues("Strict-Transport-Security").Single());
            }

            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", (await File.ReadAllTextAsync(_directory.Combine("data", "admin.key"))).Trim());
            using var content = new StringContent("""{"command":["true"]}""", Encoding.UTF8, "application/json");
            using (var submit = await client.PostAsync("/tasks", content))
            {
                Assert.Equal(HttpStatusCode.Created, submit.StatusCode);
            }
            using var list = await client.GetAsync("/tasks");
            Assert.Equal(HttpStatusCode.OK, list.StatusCode);
            Assert.Contains("max-age=31536000", list.Headers.GetValues("Strict-Transport-Security"));
            Assert.Equal("no-store", list.Headers.CacheControl?.ToString());
        }
        finally
        {
            await StopAsync(app);
        }
    }

    [Fact]
    public async Task Start_Https_ClientThatDoesNotTrustTheCertificateIsRefused()
    {
        using var certificate = TestCertificate.Create(_directory.Combine("tls"));
        var app = await StartAsync("https://127.0.0.1:0", certificate.CertificateFile, certificate.KeyFile);
        try
        {
            var address = new Uri(SkiffServer.BoundAddresses(app).Single());
            using var stranger = TestCertificate.Create(_directory.Combine("other"), "stranger");
            using var client = new HttpClient(stranger.CreateTrustingHandler()) { BaseAddress = address };

            var error = await Assert.ThrowsAsync<HttpRequestException>(() => client.GetAsync("/health"));

            Assert.Equal(HttpRequestError.SecureConnectionError, error.HttpRequestError);
        }
        finally
        {
            await StopAsync(app);
        }
    }

    [Fact]
    public async Task Start_Https_PlainHttpOnTheSamePortIsNeverServed()
    {
        using var certificate = TestCertificate.Create(_directory.Combine("tls"));
        var app = await StartAsync("https://127.0.0.1:0", certificate.CertificateFile, certificate.KeyFile);
        try
        {
            var address = new Uri(SkiffServer.BoundAddresses(app).Single());
            using var plain = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{address.Port}") };

            try
            {
                using var response = await plain.GetAsync("/health");
                Assert.False(response.IsSuccessStatusCode, $"plain HTTP answered {(int)response.StatusCode}");
            }
            catch (HttpRequestException)
            {
                // Kestrel may also just close the connection: either way nothing is served in clear text.
            }
        }
        finally
        {
            await StopAsync(app);
        }
    }

    public static TheoryData<string, string?, string?, string> BadTls()
    {
        const string Https = "https://127.0.0.1:0";
        return new()
        {
            // Cert and key files are created by the test under these names: "cert", "key", "garbage", "other-key".
            { Https, "missing", "key", "--tls-cert {missing} with --tls-key {key}" },
            { Https, "cert", "missing", "--tls-cert {cert} with --tls-key {missing}" },
            { Https, "garbage", "key", "--tls-cert {garbage}" },
            { Https, "cert", "garbage", "--tls-key {garbage}" },
            { Https, "cert", "other-key", "--tls-key {other-key}" },
            { Https, "cert", null, "--tls-cert needs --tls-key" },
            { Https, null, "key", "--tls-key needs --tls-cert" },
            { Https, null, null, "--urls https://127.0.0.1:0: https needs a certificate" },
            { "http://127.0.0.1:0", "cert", "key", "--urls http://127.0.0.1:0: with --tls-cert every URL must be https://" },
            { "https://127.0.0.1:0;http://127.0.0.1:0", "cert", "key", "--urls http://127.0.0.1:0" },
        };
    }

    [Theory]
    [MemberData(nameof(BadTls))]
    public async Task Start_BadTlsSettings_FailsWithOneLineNamingTheFlagAndReleasesTheDataDirectory(string urls, string? cert, string? key, string expected)
    {
        using var certificate = TestCertificate.Create(_directory.Combine("tls"));
        using var other = TestCertificate.Create(_directory.Combine("tls-other"));
        var files = new Dictionary<string, string>
        {
            ["cert"] = certificate.CertificateFile,
            ["key"] = certificate.KeyFile,
            ["other-key"] = other.KeyFile,
            ["garbage"] = _directory.Combine("garbage.pem"),
            ["missing"] = _directory.Combine("no-such-dir", "missing.pem"),
        };
        await File.WriteAllTextAsync(files["garbage"], "-----BEGIN NOTHING-----\nnot base64 at all\n");
        foreach (var (name, path) in files)
        {
            expected = expected.Replace("{" + name + "}", path, StringComparison.Ordinal);
        }

        var error = await Assert.ThrowsAsync<StartupException>(() =>
            StartAsync(urls, cert is null ? null : files[cert], key is null ? null : files[key]));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
        await using var again = await SkiffTestServer.StartAsync(maxWorkers: 0, dataDirectory: _directory.Combine("data"));
        await again.AssertHealthyAsync();
    }

    private static async Task StopAsync(WebApplication app)
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }

    private Task<WebApplication> StartAsync(string urls, string? certificateFile, string? keyFile)
    {
        var options = new ServerOptions
        {
            DataDirectory = _directory.Combine("data"),
            Urls = urls,
            MaxWorkers = 0,
            Executor = "process",
            SkiffCommand = SkiffTestServer.SkiffCommand,
            TlsCertificateFile = certificateFile,
            TlsKeyFile = keyFile,
        };
        return SkiffServer.StartAsync(options, new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "Warning" }, CancellationToken.None);
    }
}
