namespace Skiff.Cli.Client;

/// <summary>Body of <c>PUT /secrets/{name}</c>.</summary>
internal sealed record SetSecretRequest(string Value);

/// <summary>A secret as the API lists it: never its value.</summary>
internal sealed record SecretDocument(string Name, string Scope, int Version, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt);

internal sealed record SecretList(IReadOnlyList<SecretDocument> Items);

/// <summary>The answer of <c>POST /secrets/rotate-key</c>.</summary>
internal sealed record KeyRotationDocument(string ActiveKeyId, int Resealed, IReadOnlyList<string> RemovedKeyIds, IReadOnlyList<string> KeptKeyIds);
