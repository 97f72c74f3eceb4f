using Skiff.Core.Tasks;

namespace Skiff.Core.Tests.Tasks;

public sealed class WorkloadTypesTests
{
    [Fact]
    public void Names_BuiltInTypes_AllKnown()
    {
        Assert.Equal(
            new[] { "cpu-intensive", "error", "io-intensive", "memory-intensive", "network-test", "timeout" },
            WorkloadTypes.Names.Order(StringComparer.Ordinal));
        Assert.All(WorkloadTypes.Names, name => Assert.True(WorkloadTypes.IsKnown(name)));
    }

    [Theory]
    [InlineData("CPU-INTENSIVE")]
    [InlineData("sleep")]
    [InlineData("")]
    public void IsKnown_OtherName_False(string type)
    {
        Assert.False(WorkloadTypes.IsKnown(type));
    }

    [Fact]
    public void ToArguments_Parameters_TypeThenFlagsSortedByName()
    {
        var args = WorkloadTypes.ToArguments(WorkloadTypes.MemoryIntensive, new Dictionary<string, string> { ["seconds"] = "3", ["mb"] = "64" });

        Assert.Equal(["memory-intensive", "--mb", "64", "--seconds", "3"], args);
    }

    [Fact]
    public void ToArguments_NoParameters_JustTheType()
    {
        Assert.Equal(["timeout"], WorkloadTypes.ToArguments(WorkloadTypes.Timeout, new Dictionary<string, string>()));
    }
}
