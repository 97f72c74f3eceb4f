using System.Net.Http.Json;

namespace Skiff.Cli.Client;

/// <summary>/secrets: set, list and delete secrets; rotate the master key.</summary>
internal sealed partial class SkiffClient
{
    public Task<SecretDocument> SetSecretAsync(string name, string value, bool shared, CancellationToken cancellationToken) =>
        SendJsonAsync(
            new HttpRequestMessage(HttpMethod.Put, SecretPath(name, shared)) { Content = JsonContent.Create(new SetSecretRequest(value), SkiffJsonContext.Default.SetSecretRequest) },
            SkiffJsonContext.Default.SecretDocument,
            cancellationToken);

    public Task<SecretList> ListSecretsAsync(CancellationToken cancellationToken) =>
        SendJsonAsync(new HttpRequestMessage(HttpMethod.Get, "secrets"), SkiffJsonContext.Default.SecretList, cancellationToken);

    public async Task DeleteSecretAsync(string name, bool shared, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Delete, SecretPath(name, shared));
        using var response = await SendAsync(message, allowNotFound: false, cancellationToken);
    }

    public Task<KeyRotationDocument> RotateSecretKeyAsync(CancellationToken cancellationToken) =>
        SendJsonAsync(new HttpRequestMessage(HttpMethod.Post, "secrets/rotate-key"), SkiffJsonContext.Default.KeyRotationDocument, cancellationToken);

    private static string SecretPath(string name, bool shared) => "secrets/" + Uri.EscapeDataString(name) + (shared ? "?scope=shared" : "");
}
