using Skiff.Cli;
using Xunit;

namespace Skiff.EndToEnd.Tests.Cli;

public sealed class SelfInvocationTests
{
    [Fact]
    public void Resolve_UnderDotnetHost_RunsTheDllThroughTheHost()
    {
        Assert.Equal(["/usr/share/dotnet/dotnet", "/repo/.build/cli/skiff.dll"], SelfInvocation.Resolve("/usr/share/dotnet/dotnet", "/repo/.build/cli/skiff.dll"));
    }

    [Fact]
    public void Resolve_Apphost_RunsTheExecutableAlone()
    {
        Assert.Equal(["/opt/skiff/skiff"], SelfInvocation.Resolve("/opt/skiff/skiff", "/opt/skiff/skiff.dll"));
    }

    [Fact]
    public void Resolve_SingleFileWithoutAssemblyPath_RunsTheExecutableAlone()
    {
        Assert.Equal(["/opt/skiff/skiff"], SelfInvocation.Resolve("/opt/skiff/skiff", ""));
    }
}
