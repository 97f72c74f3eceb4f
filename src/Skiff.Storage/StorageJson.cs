using System.Text.Json.Serialization;
using Skiff.Core.Tasks;

namespace Skiff.Storage;

/// <summary>Source-generated JSON for the documents kept in store columns.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(TaskSpec))]
[JsonSerializable(typeof(List<TaskArtifact>))]
internal sealed partial class StorageJson : JsonSerializerContext;
