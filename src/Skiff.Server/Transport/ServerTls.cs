using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Skiff.Server.Transport;

/// <summary>The certificate Kestrel serves, and the intermediates sent with it (a fullchain.pem holds both).</summary>
internal sealed record ServerCertificate(X509Certificate2 Certificate, X509Certificate2Collection Intermediates);

/// <summary>
/// TLS from <c>--tls-cert FILE --tls-key FILE</c> (PEM). Every way the pair or the URLs can disagree ends
/// start-up with one line naming the flag or file, never a stack trace.
/// </summary>
internal static class ServerTls
{
    /// <summary>The certificate to serve, or null for plain HTTP.</summary>
    public static ServerCertificate? Load(ServerOptions options)
    {
        var (certificateFile, keyFile) = (options.TlsCertificateFile, options.TlsKeyFile);
        var urls = options.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (certificateFile is null && keyFile is null)
        {
            // Kestrel would look for the developer certificate and fail with a multi-line message.
            if (urls.FirstOrDefault(IsHttps) is { } https)
            {
                throw new StartupException($"--urls {https}: https needs a certificate: pass --tls-cert FILE and --tls-key FILE (PEM)");
            }
            return null;
        }
        if (certificateFile is null || keyFile is null)
        {
            throw new StartupException(certificateFile is null
                ? "--tls-key needs --tls-cert too (the PEM certificate)"
                : "--tls-cert needs --tls-key too (the PEM private key)");
        }
        // One plain URL next to TLS ones would carry API keys in clear text.
        if (urls.FirstOrDefault(u => !IsHttps(u)) is { } plain)
        {
            throw new StartupException($"--urls {plain}: with --tls-cert every URL must be https:// (e.g. https://127.0.0.1:7443)");
        }
        try
        {
            var certificate = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
            var intermediates = new X509Certificate2Collection();
            intermediates.ImportFromPemFile(certificateFile);
            foreach (var same in intermediates.Where(c => c.Thumbprint == certificate.Thumbprint).ToList())
            {
                intermediates.Remove(same);
            }
            return new ServerCertificate(certificate, intermediates);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            throw new StartupException($"cannot use --tls-cert {certificateFile} with --tls-key {keyFile}: {OneLine(ex.Message)}");
        }
    }

    private static bool IsHttps(string url) => url.StartsWith("https://", StringComparison.OrdinalIgnoreCase);

    private static string OneLine(string text) =>
        string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
