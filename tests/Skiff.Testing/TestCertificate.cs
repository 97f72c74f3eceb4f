using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Skiff.Testing;

/// <summary>
/// A self-signed TLS server certificate for 127.0.0.1 and localhost, written as PEM files (the form
/// <c>skiff server --tls-cert --tls-key</c> reads), and HTTP handlers that trust exactly this certificate.
/// </summary>
public sealed class TestCertificate : IDisposable
{
    private TestCertificate(X509Certificate2 certificate, string certificateFile, string keyFile)
    {
        Certificate = certificate;
        CertificateFile = certificateFile;
        KeyFile = keyFile;
    }

    public X509Certificate2 Certificate { get; }

    /// <summary>The certificate as PEM ("-----BEGIN CERTIFICATE-----").</summary>
    public string CertificateFile { get; }

    /// <summary>The private key as PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----").</summary>
    public string KeyFile { get; }

    /// <summary>Creates the certificate (valid from an hour ago for a day) and writes its files into <paramref name="directory"/>.</summary>
    public static TestCertificate Create(string directory, string name = "server")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        var now = DateTimeOffset.UtcNow;
        var certificate = request.CreateSelfSigned(now.AddHours(-1), now.AddDays(1));

        Directory.CreateDirectory(directory);
        var certificateFile = Path.Combine(directory, name + ".crt.pem");
        var keyFile = Path.Combine(directory, name + ".key.pem");
        File.WriteAllText(certificateFile, certificate.ExportCertificatePem());
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        return new TestCertificate(certificate, certificateFile, keyFile);
    }

    /// <summary>A handler that accepts a server only if its chain ends in this certificate and names the host asked for.</summary>
    public SocketsHttpHandler CreateTrustingHandler() => new()
    {
        SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = Validate },
    };

    public void Dispose() => Certificate.Dispose();

    private bool Validate(object sender, X509Certificate? presented, X509Chain? unused, SslPolicyErrors errors)
    {
        // The host name must match as usual; only the trust anchor differs from the system's.
        if (presented is not X509Certificate2 server || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            return false;
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(Certificate);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(server);
    }
}
