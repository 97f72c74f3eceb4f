using Skiff.Core.Tasks;
using Skiff.Core.Validation;

namespace Skiff.Core.Tests.Validation;

public sealed class TaskSpecValidatorTests
{
    private static readonly TaskSpec ValidCommand = new() { Command = ["echo", "hello"] };

    private static readonly TaskSpec ValidType = new()
    {
        Type = WorkloadTypes.CpuIntensive,
        Parameters = new Dictionary<string, string> { ["seconds"] = "5", ["iterations"] = "1000" },
    };

    private static IDictionary<string, string[]> Errors(TaskSpec spec) => TaskSpecValidator.Validate(spec).ToDictionary();

    /// <summary>The spec is refused, and only because of <paramref name="field"/>.</summary>
    private static string[] AssertOnlyField(TaskSpec spec, string field)
    {
        var result = TaskSpecValidator.Validate(spec);
        Assert.False(result.IsValid);
        var errors = result.ToDictionary();
        Assert.Equal([field], errors.Keys);
        Assert.NotEmpty(errors[field]);
        return errors[field];
    }

    [Fact]
    public void Validate_ValidCommandSpec_NoErrors()
    {
        var result = TaskSpecValidator.Validate(ValidCommand);

        Assert.True(result.IsValid);
        Assert.Empty(result.ToDictionary());
        Assert.Equal("", result.Summary());
    }

    [Fact]
    public void Validate_ValidTypeSpecWithEveryOptionSet_NoErrors()
    {
        var spec = ValidType with
        {
            Image = "alpine:3.20",
            Priority = 10,
            TimeoutSeconds = TaskDefaults.MaxTimeoutSeconds,
            Cpu = TaskDefaults.MaxCpu,
            MemoryMb = TaskDefaults.MaxMemoryMb,
            MaxAttempts = TaskDefaults.MaxMaxAttempts,
            Network = "host",
            Env = new Dictionary<string, string> { ["A"] = "1", ["EMPTY"] = "" },
            Metadata = new Dictionary<string, string> { ["team"] = "data" },
        };

        Assert.True(TaskSpecValidator.Validate(spec).IsValid, TaskSpecValidator.Validate(spec).Summary());
    }

    [Fact]
    public void Validate_EveryKnownTypeWithoutParameters_NoErrors()
    {
        foreach (var type in WorkloadTypes.Names)
        {
            var result = TaskSpecValidator.Validate(new TaskSpec { Type = type });
            Assert.True(result.IsValid, $"{type}: {result.Summary()}");
        }
    }

    [Fact]
    public void Validate_LowestAllowedValues_NoErrors()
    {
        var spec = ValidCommand with
        {
            Priority = TaskDefaults.MinPriority,
            TimeoutSeconds = TaskDefaults.MinTimeoutSeconds,
            Cpu = TaskDefaults.MinCpu,
            MemoryMb = TaskDefaults.MinMemoryMb,
            MaxAttempts = TaskDefaults.MinMaxAttempts,
        };

        Assert.True(TaskSpecValidator.Validate(spec).IsValid);
    }

    [Fact]
    public void Validate_UnknownType_TypeError()
    {
        var messages = AssertOnlyField(new TaskSpec { Type = "gpu-burner" }, "type");

        Assert.Contains(messages, m => m.Contains("gpu-burner", StringComparison.Ordinal) && m.Contains(WorkloadTypes.CpuIntensive, StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_BothTypeAndCommand_TypeError()
    {
        AssertOnlyField(ValidType with { Command = ["echo"] }, "type");
    }

    [Fact]
    public void Validate_NeitherTypeNorCommand_TypeError()
    {
        AssertOnlyField(new TaskSpec(), "type");
    }

    [Fact]
    public void Validate_EmptyCommandArray_CommandError()
    {
        AssertOnlyField(new TaskSpec { Command = [] }, "command");
    }

    [Fact]
    public void Validate_EmptyProgramName_CommandError()
    {
        AssertOnlyField(new TaskSpec { Command = ["", "arg"] }, "command");
    }

    [Fact]
    public void Validate_NulInArgument_CommandError()
    {
        AssertOnlyField(new TaskSpec { Command = ["echo", "a\0b"] }, "command");
    }

    [Fact]
    public void Validate_TooManyArguments_CommandError()
    {
        AssertOnlyField(new TaskSpec { Command = Enumerable.Repeat("x", TaskDefaults.MaxCommandArgs + 1).ToArray() }, "command");
        Assert.True(TaskSpecValidator.Validate(new TaskSpec { Command = Enumerable.Repeat("x", TaskDefaults.MaxCommandArgs).ToArray() }).IsValid);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(11)]
    [InlineData(int.MinValue)]
    public void Validate_PriorityOutOfRange_PriorityError(int priority)
    {
        var messages = AssertOnlyField(ValidCommand with { Priority = priority }, "priority");

        Assert.Contains(messages, m => m.Contains($"got {priority}", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(86_401)]
    public void Validate_TimeoutOutOfRange_TimeoutSecondsError(int timeoutSeconds)
    {
        AssertOnlyField(ValidCommand with { TimeoutSeconds = timeoutSeconds }, "timeoutSeconds");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(15)]
    [InlineData(65_537)]
    [InlineData(1_000_000_000)]
    public void Validate_MemoryOutOfRange_MemoryMbError(int memoryMb)
    {
        AssertOnlyField(ValidCommand with { MemoryMb = memoryMb }, "memoryMb");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(127)]
    [InlineData(4_097)]
    public void Validate_CpuOutOfRange_CpuError(int cpu)
    {
        AssertOnlyField(ValidCommand with { Cpu = cpu }, "cpu");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(11)]
    public void Validate_MaxAttemptsOutOfRange_MaxAttemptsError(int maxAttempts)
    {
        AssertOnlyField(ValidCommand with { MaxAttempts = maxAttempts }, "maxAttempts");
    }

    [Fact]
    public void Validate_MetadataOverEightKilobytes_MetadataError()
    {
        var spec = ValidCommand with { Metadata = new Dictionary<string, string> { ["k"] = new string('x', TaskDefaults.MaxMetadataBytes) } };

        AssertOnlyField(spec, "metadata");
    }

    [Fact]
    public void Validate_MetadataOfExactlyEightKilobytes_NoErrors()
    {
        var spec = ValidCommand with
        {
            Metadata = new Dictionary<string, string> { ["k"] = new string('x', 4_000), ["key2"] = new string('y', TaskDefaults.MaxMetadataBytes - 4_000 - 1 - 4) },
        };

        Assert.True(TaskSpecValidator.Validate(spec).IsValid);
    }

    [Fact]
    public void Validate_MetadataUnderEightThousandCharactersButOverInUtf8Bytes_MetadataError()
    {
        // 4,097 characters, 8,193 bytes: the limit is on bytes, which is what the store keeps.
        var spec = ValidCommand with { Metadata = new Dictionary<string, string> { ["k"] = new string('é', 4_096) } };

        AssertOnlyField(spec, "metadata");
    }

    [Theory]
    [InlineData("bridge")]
    [InlineData("")]
    [InlineData("None")]
    [InlineData("host ")]
    public void Validate_UnknownNetwork_NetworkError(string network)
    {
        AssertOnlyField(ValidCommand with { Network = network }, "network");
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void Validate_BlankImage_ImageError(string image)
    {
        AssertOnlyField(ValidCommand with { Image = image }, "image");
    }

    [Fact]
    public void Validate_ImageNameTooLong_ImageError()
    {
        AssertOnlyField(ValidCommand with { Image = new string('a', 129) }, "image");
    }

    [Theory]
    [InlineData("")]
    [InlineData("A=B")]
    [InlineData("A\0")]
    public void Validate_BadEnvName_EnvError(string name)
    {
        AssertOnlyField(ValidCommand with { Env = new Dictionary<string, string> { [name] = "v" } }, "env");
    }

    [Fact]
    public void Validate_ParametersWithCommand_ParametersError()
    {
        var spec = ValidCommand with { Parameters = new Dictionary<string, string> { ["seconds"] = "5" } };

        AssertOnlyField(spec, "parameters");
    }

    [Fact]
    public void Validate_UnknownParameter_ParametersErrorNamingIt()
    {
        var spec = ValidType with { Parameters = new Dictionary<string, string> { ["colour"] = "blue" } };

        var messages = AssertOnlyField(spec, "parameters");
        Assert.Contains(messages, m => m.Contains("'colour'", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("1.5")]
    [InlineData("")]
    [InlineData("-1")]
    [InlineData("2147483648")]
    [InlineData("99999999999999999999999")]
    public void Validate_NonIntegerForIntegerParameter_ParametersError(string value)
    {
        var spec = ValidType with { Parameters = new Dictionary<string, string> { ["seconds"] = value } };

        var messages = AssertOnlyField(spec, "parameters");
        Assert.Contains(messages, m => m.Contains("'seconds'", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_TextParameter_AcceptsNonNumbers()
    {
        var spec = new TaskSpec
        {
            Type = WorkloadTypes.NetworkTest,
            Parameters = new Dictionary<string, string> { ["host"] = "example.internal", ["port"] = "443", ["timeoutMs"] = "0" },
        };

        Assert.True(TaskSpecValidator.Validate(spec).IsValid);
    }

    [Fact]
    public void Validate_TextParameterTooLong_ParametersError()
    {
        var spec = new TaskSpec { Type = WorkloadTypes.Error, Parameters = new Dictionary<string, string> { ["message"] = new string('m', 1_025) } };

        AssertOnlyField(spec, "parameters");
    }

    [Fact]
    public void Validate_SeveralBadFields_EveryErrorAtOnce()
    {
        var spec = new TaskSpec
        {
            Command = [],
            Priority = -1,
            Cpu = 0,
            MemoryMb = 0,
            MaxAttempts = 11,
            TimeoutSeconds = 0,
            Network = "bridge",
            Parameters = new Dictionary<string, string> { ["x"] = "1" },
        };

        var result = TaskSpecValidator.Validate(spec);

        Assert.Equal(
            new[] { "command", "cpu", "maxAttempts", "memoryMb", "network", "parameters", "priority", "timeoutSeconds" },
            result.ToDictionary().Keys.Order(StringComparer.Ordinal));
        var summary = result.Summary();
        foreach (var field in result.ToDictionary().Keys)
        {
            Assert.Contains(field + ":", summary, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Validate_SeveralBadParameters_OneMessageEach()
    {
        var spec = ValidType with { Parameters = new Dictionary<string, string> { ["seconds"] = "soon", ["iterations"] = "many", ["extra"] = "1" } };

        var messages = AssertOnlyField(spec, "parameters");
        Assert.Equal(3, messages.Length);
    }
}
