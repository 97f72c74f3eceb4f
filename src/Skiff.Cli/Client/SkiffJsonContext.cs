using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Skiff.Cli.Client;

/// <summary>Source-generated (de)serialization for the API's camelCase JSON.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(SubmitTaskRequest))]
[JsonSerializable(typeof(TaskDocument))]
[JsonSerializable(typeof(TaskPage))]
[JsonSerializable(typeof(TaskResultDocument))]
[JsonSerializable(typeof(HealthDocument))]
[JsonSerializable(typeof(ProblemDocument))]
[JsonSerializable(typeof(IReadOnlyList<TaskDocument>))]
[JsonSerializable(typeof(CreateUserRequest))]
[JsonSerializable(typeof(UserDocument))]
[JsonSerializable(typeof(UserList))]
[JsonSerializable(typeof(CreateKeyRequest))]
[JsonSerializable(typeof(KeyList))]
[JsonSerializable(typeof(CreatedKeyDocument))]
[JsonSerializable(typeof(SetSecretRequest))]
[JsonSerializable(typeof(SecretList))]
[JsonSerializable(typeof(KeyRotationDocument))]
[JsonSerializable(typeof(ImageList))]
[JsonSerializable(typeof(ImageImportDocument))]
[JsonSerializable(typeof(AuditPage))]
[JsonSerializable(typeof(AuditVerificationDocument))]
[JsonSerializable(typeof(IReadOnlyList<AuditRecordDocument>))]
internal sealed partial class SkiffJsonContext : JsonSerializerContext
{
    public static string ToIndentedJson<T>(T value)
    {
        var typeInfo = (JsonTypeInfo<T>)Indented.Options.GetTypeInfo(typeof(T));
        return JsonSerializer.Serialize(value, typeInfo);
    }

    /// <summary>
    /// For <c>--json</c> output meant for people and jq: indented, and '&lt;' or 'é' left as they are. A nested
    /// class so it is built on first use, after the generated <see cref="Default"/> exists.
    /// </summary>
    private static class Indented
    {
        public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
        {
            TypeInfoResolver = Default,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
            WriteIndented = true,
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        };
    }
}
