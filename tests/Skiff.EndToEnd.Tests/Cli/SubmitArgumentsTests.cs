using System.Text.Json;
using Skiff.Cli;
using Skiff.Cli.Client;
using Skiff.Cli.Commands;
using Xunit;

namespace Skiff.EndToEnd.Tests.Cli;

public sealed class SubmitArgumentsTests
{
    private readonly SkiffCli _cli = new CliTestHost().Cli;

    private SubmitTaskRequest Build(params string[] args)
    {
        var parseResult = _cli.Parse(["submit", .. args]);
        Assert.Empty(parseResult.Errors);
        return _cli.Submit.BuildRequest(parseResult);
    }

    [Fact]
    public void BuildRequest_TypeWithParams_SetsTypeAndStringParameters()
    {
        var request = Build("--type", "cpu-intensive", "--param", "seconds=2", "--param", "iterations=10");

        Assert.Equal("cpu-intensive", request.Type);
        Assert.Null(request.Command);
        Assert.Equal(new Dictionary<string, string> { ["seconds"] = "2", ["iterations"] = "10" }, request.Parameters);
    }

    [Fact]
    public void BuildRequest_ContainerLimits_SentAsPidsLimitEphemeralStorageMbAndUser()
    {
        var request = Build("--pids-limit", "20", "--ephemeral-storage", "64", "--user", "1000:1000", "--", "true");

        var json = JsonSerializer.Serialize(request, SkiffJsonContext.Default.SubmitTaskRequest);
        Assert.Equal("""{"command":["true"],"pidsLimit":20,"ephemeralStorageMb":64,"user":"1000:1000"}""", json);
    }

    [Fact]
    public void BuildRequest_CommandAfterDoubleDash_KeepsOptionLikeTokensInTheCommand()
    {
        var parseResult = _cli.Parse(["submit", "--wait", "--", "sh", "-c", "echo hi", "--wait", "--type", "x"]);

        var request = _cli.Submit.BuildRequest(parseResult);

        Assert.Equal(["sh", "-c", "echo hi", "--wait", "--type", "x"], request.Command);
        Assert.Null(request.Type);
        Assert.True(parseResult.GetValue(_cli.Submit.Wait));
    }

    [Fact]
    public void BuildRequest_AtSignArgument_IsPassedVerbatimNotExpandedAsResponseFile()
    {
        var request = Build("--", "curl", "-d", "@body.json", "http://example.invalid");

        Assert.Equal(["curl", "-d", "@body.json", "http://example.invalid"], request.Command);
    }

    [Fact]
    public void BuildRequest_EnvAndMetadataPairs_SplitAtTheFirstEquals()
    {
        var request = Build("--env", "OPTS=a=b", "--env", "EMPTY=", "--metadata", "team=data", "--", "env");

        Assert.Equal(new Dictionary<string, string> { ["OPTS"] = "a=b", ["EMPTY"] = "" }, request.Env);
        Assert.Equal(new Dictionary<string, string> { ["team"] = "data" }, request.Metadata);
    }

    [Fact]
    public void BuildRequest_RepeatedKey_LastValueWins()
    {
        var request = Build("--env", "A=1", "--env", "A=2", "--", "env");

        Assert.Equal("2", request.Env!["A"]);
    }

    [Fact]
    public void BuildRequest_ResourceOptions_MapToTheirRequestFields()
    {
        var request = Build(
            "--type", "io-intensive", "--priority", "7", "--timeout", "90", "--cpu", "512", "--memory", "256",
            "--max-attempts", "5", "--image", "alpine");

        Assert.Equal(7, request.Priority);
        Assert.Equal(90, request.TimeoutSeconds);
        Assert.Equal(512, request.Cpu);
        Assert.Equal(256, request.MemoryMb);
        Assert.Equal(5, request.MaxAttempts);
        Assert.Equal("alpine", request.Image);
    }

    [Fact]
    public void BuildRequest_OptionsNotGiven_AreLeftOutOfTheJsonSoServerDefaultsApply()
    {
        var request = Build("--", "echo", "hello");

        var json = JsonSerializer.Serialize(request, SkiffJsonContext.Default.SubmitTaskRequest);

        Assert.Equal("""{"command":["echo","hello"]}""", json);
    }

    [Theory]
    [InlineData("--param", "seconds")]
    [InlineData("--env", "PATH")]
    [InlineData("--metadata", "=value")]
    public void BuildRequest_PairWithoutKeyAndEquals_ThrowsUsageError(string option, string value)
    {
        var parseResult = _cli.Parse(["submit", "--type", "cpu-intensive", option, value]);

        var error = Assert.Throws<CliException>(() => _cli.Submit.BuildRequest(parseResult));

        Assert.Equal(ExitCodes.Usage, error.ExitCode);
        Assert.Contains(option, error.Message, StringComparison.Ordinal);
        Assert.Contains("KEY=VALUE", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BuildRequest_NeitherTypeNorCommand_ThrowsUsageError()
    {
        var parseResult = _cli.Parse(["submit", "--priority", "3"]);

        var error = Assert.Throws<CliException>(() => _cli.Submit.BuildRequest(parseResult));

        Assert.Equal(ExitCodes.Usage, error.ExitCode);
    }

    [Fact]
    public void ParsePairs_NoValues_ReturnsNull()
    {
        Assert.Null(SubmitCommands.ParsePairs([], "--env"));
        Assert.Null(SubmitCommands.ParsePairs(null, "--env"));
    }
}
