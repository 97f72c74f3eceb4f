using Skiff.Core.Secrets;
using Skiff.Core.Tasks;
using Skiff.Core.Validation;

namespace Skiff.Core.Tests.Secrets;

public sealed class SecretNamesTests
{
    [Theory]
    [InlineData("db")]
    [InlineData("DB_PASSWORD")]
    [InlineData("prod.db-creds_2")]
    [InlineData("_x")]
    [InlineData("9lives")]
    public void IsValidName_Plain_True(string name) => Assert.True(SecretNames.IsValidName(name));

    [Theory]
    [InlineData("")]
    [InlineData(".")]
    [InlineData("..")]
    [InlineData(".hidden")]
    [InlineData("-rf")]
    [InlineData("a/b")]
    [InlineData("a\\b")]
    [InlineData("../etc/passwd")]
    [InlineData("a b")]
    [InlineData("café")]
    [InlineData("a\0b")]
    [InlineData(null)]
    public void IsValidName_PathLikeOrOddCharacters_False(string? name) => Assert.False(SecretNames.IsValidName(name));

    [Fact]
    public void IsValidName_Length_256AllowedAnd257Not()
    {
        Assert.True(SecretNames.IsValidName(new string('a', 256)));
        Assert.False(SecretNames.IsValidName(new string('a', 257)));
    }

    [Theory]
    [InlineData("DB_PASSWORD", true)]
    [InlineData("_x1", true)]
    [InlineData("1X", false)]
    [InlineData("A-B", false)]
    [InlineData("A=B", false)]
    [InlineData("", false)]
    public void IsValidEnvName_Cases(string name, bool valid) => Assert.Equal(valid, SecretNames.IsValidEnvName(name));

    [Fact]
    public void CheckValue_Limits_EmptyNulAndOver64KiBRefused()
    {
        Assert.Null(SecretNames.CheckValue("x"));
        Assert.Null(SecretNames.CheckValue(new string('€', 64 * 1024 / 3)));
        Assert.NotNull(SecretNames.CheckValue(""));
        Assert.NotNull(SecretNames.CheckValue(null));
        Assert.NotNull(SecretNames.CheckValue("a\0b"));
        Assert.Contains("65537 bytes", SecretNames.CheckValue(new string('x', 64 * 1024 + 1)), StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_TaskWithGoodAndBadReferences_EveryProblemUnderSecrets()
    {
        var spec = new TaskSpec
        {
            Command = ["true"],
            Env = new Dictionary<string, string> { ["TOKEN"] = "x" },
            Secrets = new Dictionary<string, string> { ["GOOD"] = "db", ["1BAD"] = "db", ["TOKEN"] = "db", ["PATH_LIKE"] = "../db" },
        };

        var errors = TaskSpecValidator.Validate(spec).ToDictionary();

        var messages = Assert.Single(errors, e => e.Key == "secrets").Value;
        Assert.Equal(3, messages.Length);
        Assert.DoesNotContain(messages, m => m.Contains("'GOOD'", StringComparison.Ordinal));
    }
}
