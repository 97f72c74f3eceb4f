using Skiff.Core.Tasks;
using Skiff.Core.Validation;

namespace Skiff.Core.Tests.Validation;

/// <summary>pidsLimit, ephemeralStorageMb and user: fixed rules plus the server's maxima and root policy.</summary>
public sealed class TaskLimitsValidationTests
{
    private static readonly TaskSpec Valid = new() { Command = ["true"] };
    private static readonly TaskLimits Limits = new() { MaxPidsPerTask = 300, MaxEphemeralStorageMb = 2048 };

    private static IDictionary<string, string[]> Errors(TaskSpec spec, TaskLimits? limits = null) =>
        TaskSpecValidator.Validate(spec, limits ?? Limits).ToDictionary();

    [Fact]
    public void Validate_Defaults_AreValidAndNobody()
    {
        Assert.Empty(Errors(Valid));
        Assert.Equal(256, Valid.PidsLimit);
        Assert.Equal(1024, Valid.EphemeralStorageMb);
        Assert.Equal(new TaskUser(65534, 65534), TaskUser.Parse(Valid.User));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(301)]
    [InlineData(int.MaxValue)]
    public void Validate_PidsLimitOutOfRange_NamesPidsLimit(int pids) =>
        Assert.Equal(["pidsLimit"], Errors(Valid with { PidsLimit = pids }).Keys);

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(2049)]
    public void Validate_EphemeralStorageOutOfRange_NamesEphemeralStorageMb(int size) =>
        Assert.Equal(["ephemeralStorageMb"], Errors(Valid with { EphemeralStorageMb = size }).Keys);

    [Theory]
    [InlineData(1, 1)]
    [InlineData(300, 2048)]
    public void Validate_LimitsAtTheBounds_Valid(int pids, int size) =>
        Assert.Empty(Errors(Valid with { PidsLimit = pids, EphemeralStorageMb = size }));

    [Fact]
    public void Validate_DefaultServerMaxima_4096PidsAnd64GiB()
    {
        Assert.Empty(Errors(Valid with { PidsLimit = 4096, EphemeralStorageMb = 65_536 }, TaskLimits.Default));
        Assert.Equal(["ephemeralStorageMb", "pidsLimit"],
            Errors(Valid with { PidsLimit = 4097, EphemeralStorageMb = 65_537 }, TaskLimits.Default).Keys.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("root")]
    [InlineData("abc")]
    [InlineData("-1")]
    [InlineData("")]
    [InlineData("1000:")]
    [InlineData(":1000")]
    [InlineData("1000:1000:1")]
    [InlineData(" 1000")]
    [InlineData("+1000")]
    [InlineData("4294967295")]
    [InlineData("99999999999")]
    [InlineData("nobody:nogroup")]
    public void Validate_MalformedUser_NamesUser(string user) =>
        Assert.Equal(["user"], Errors(Valid with { User = user }).Keys);

    [Theory]
    [InlineData("0")]
    [InlineData("0:0")]
    [InlineData("0:1000")]
    [InlineData("1000:0")]
    public void Validate_RootUserNotAllowed_NamesUser(string user)
    {
        var errors = Errors(Valid with { User = user });

        Assert.Equal(["user"], errors.Keys);
        Assert.Contains("not allowed", errors["user"][0], StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_RootUserAllowedByServer_Valid() =>
        Assert.Empty(Errors(Valid with { User = "0" }, Limits with { AllowRootTasks = true }));

    [Fact]
    public void Validate_AllThreeBad_EveryFieldNamedAtOnce() =>
        Assert.Equal(["ephemeralStorageMb", "pidsLimit", "user"],
            Errors(Valid with { PidsLimit = 0, EphemeralStorageMb = 0, User = "root" }).Keys.Order(StringComparer.Ordinal));

    [Theory]
    [InlineData("1000", 1000u, 1000u)]
    [InlineData("1000:2000", 1000u, 2000u)]
    [InlineData("65534:65534", 65534u, 65534u)]
    [InlineData("4294967294", 4294967294u, 4294967294u)]
    public void TryParse_NumericUser_UidAndGid(string text, uint uid, uint gid)
    {
        Assert.True(TaskUser.TryParse(text, out var user));
        Assert.Equal(new TaskUser(uid, gid), user);
        Assert.Equal($"{uid}:{gid}", user.ToString());
    }
}
