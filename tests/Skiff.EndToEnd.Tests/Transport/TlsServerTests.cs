using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Skiff.EndToEnd.Tests.Infrastructure;
using Skiff.Testing;
using Xunit;

namespace Skiff.EndToEnd.Tests.Transport;

/// <summary>
/// <c>skiff server --tls-cert --tls-key</c> as a user runs it: HTTPS on the given URL, the CLI reaching it when
/// it trusts the certificate (SSL_CERT_FILE) and saying why not when it does not, and one error line for bad files.
/// </summary>
public sealed class TlsServerTests : IDisposable
{
    private const string AdminKey = "sk_e2e_tls";
    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Server_TlsCertAndKey_ServesHttpsAndTheCliTrustsItThroughSslCertFile()
    {
        using var certificate = TestCertificate.Create(_directory.Combine("tls"));
        var url = $"https://127.0.0.1:{FreeTcpPort.Next().ToString(CultureInfo.InvariantCulture)}";
        var output = new StringBuilder();
        using var server = Process.Start(SkiffProgram.SkiffStartInfo(
            ["server", "--data", _directory.Combine("data"), "--urls", url, "--max-workers", "0", "--executor", "process",
                "--tls-cert", certificate.CertificateFile, "--tls-key", certificate.KeyFile],
            _directory.Path, new Dictionary<string, string?> { ["SKIFF_ADMIN_KEY"] = AdminKey }))!;
        server.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        server.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        server.BeginOutputReadLine();
        server.BeginErrorReadLine();
        try
        {
            using var client = new HttpClient(certificate.CreateTrustingHandler()) { Timeout = TimeSpan.FromSeconds(5) };
            var status = await Eventually.UntilAsync(async () => server.HasExited ? HttpStatusCode.Gone : await HealthAsync(client, url),
                s => s is HttpStatusCode.OK or HttpStatusCode.Gone, TimeSpan.FromSeconds(60), $"GET {url}/health", s => $"{s}; output: {output}");
            Assert.True(status == HttpStatusCode.OK, $"the server exited: {output}");
            using (var health = await client.GetAsync(url + "/health"))
            {
                Assert.Contains("max-age=31536000", health.Headers.GetValues("Strict-Transport-Security"));
            }

            var trusted = await CliAsync(url, certificate.CertificateFile);
            var untrusted = await CliAsync(url, sslCertFile: null);

            Assert.True(trusted.ExitCode == 0, trusted.ToString());
            var line = untrusted.AssertOneErrorLine();
            Assert.StartsWith($"error: TLS with {url} failed: ", line, StringComparison.Ordinal);
            Assert.Contains("SSL_CERT_FILE", line, StringComparison.Ordinal);
        }
        finally
        {
            server.Kill(entireProcessTree: true);
            await server.WaitForExitAsync();
        }
    }

    [Theory]
    [InlineData("missing-cert", "error: cannot use --tls-cert")]
    [InlineData("cert-only", "error: --tls-cert needs --tls-key too")]
    [InlineData("http-url", "error: --urls http://127.0.0.1:")]
    [InlineData("https-without-cert", "error: --urls https://127.0.0.1:")]
    public async Task Server_BadTlsSettings_OneErrorLineWithoutAStackTraceAndExitOne(string scenario, string expected)
    {
        using var certificate = TestCertificate.Create(_directory.Combine("tls"));
        var port = FreeTcpPort.Next().ToString(CultureInfo.InvariantCulture);
        string[] tls = scenario switch
        {
            "missing-cert" => ["--urls", $"https://127.0.0.1:{port}", "--tls-cert", _directory.Combine("nope.pem"), "--tls-key", certificate.KeyFile],
            "cert-only" => ["--urls", $"https://127.0.0.1:{port}", "--tls-cert", certificate.CertificateFile],
            "http-url" => ["--urls", $"http://127.0.0.1:{port}", "--tls-cert", certificate.CertificateFile, "--tls-key", certificate.KeyFile],
            _ => ["--urls", $"https://127.0.0.1:{port}"],
        };

        var run = await ProcessRun.RunAsync(
            SkiffProgram.SkiffStartInfo(["server", "--data", _directory.Combine("data"), .. tls], _directory.Path,
                new Dictionary<string, string?> { ["SKIFF_ADMIN_KEY"] = AdminKey }),
            TimeSpan.FromSeconds(60));

        Assert.True(run.ExitCode == 1, run.ToString());
        var line = Assert.Single(run.StderrLines);
        Assert.StartsWith(expected, line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Stdout + run.Stderr, StringComparison.Ordinal);
    }

    private Task<ProcessRun> CliAsync(string url, string? sslCertFile) =>
        ProcessRun.RunAsync(
            SkiffProgram.SkiffStartInfo(["list", "--url", url], _directory.Path,
                new Dictionary<string, string?> { ["SKIFF_API_KEY"] = AdminKey, ["SSL_CERT_FILE"] = sslCertFile, ["SSL_CERT_DIR"] = null }),
            TimeSpan.FromSeconds(60));

    private static async Task<HttpStatusCode?> HealthAsync(HttpClient client, string url)
    {
        try
        {
            using var response = await client.GetAsync(url + "/health");
            return response.StatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }
}
