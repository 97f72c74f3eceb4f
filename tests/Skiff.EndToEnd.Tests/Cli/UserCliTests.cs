using Xunit;

namespace Skiff.EndToEnd.Tests.Cli;

/// <summary><c>skiff user</c> and <c>skiff key</c> as a user runs them, against a real server.</summary>
public sealed class UserCliTests(CliServerFixture fixture) : IClassFixture<CliServerFixture>
{
    [Fact]
    public async Task UserAndKeyCommands_FullLifecycle_KeyWorksUntilRevokedAndUserDisabled()
    {
        var name = "cli-" + Guid.NewGuid().ToString("N")[..8];

        var add = await fixture.RunAsync("user", "add", name, "--role", "user", "--max-queued", "5");
        Assert.True(add.ExitCode == 0, add.ToString());
        var id = add.Stdout.Split(' ')[0];
        Assert.StartsWith("u_", id, StringComparison.Ordinal);
        Assert.Equal($"{id} {name} user", add.Stdout.Trim());

        var list = await fixture.RunAsync("user", "ls");
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Matches($@"(?m)^{id}\s+{name}\s+user\s+default\s+5\s", list.Stdout);

        // By name: the CLI resolves it to the id.
        var create = await fixture.RunAsync("key", "create", name, "--name", "laptop");
        Assert.True(create.ExitCode == 0, create.ToString());
        var key = create.Stdout.Trim();
        Assert.StartsWith("sk_", key, StringComparison.Ordinal);
        Assert.Contains("not shown again", create.Stderr, StringComparison.Ordinal);

        var asUser = new Dictionary<string, string?> { ["SKIFF_API_KEY"] = key };
        var submitted = await fixture.RunAsync(asUser, "submit", "--", "true");
        Assert.True(submitted.ExitCode == 0, submitted.ToString());

        var keys = await fixture.RunAsync("key", "ls", id);
        Assert.True(keys.ExitCode == 0, keys.ToString());
        Assert.DoesNotContain(key, keys.Stdout, StringComparison.Ordinal);
        var keyId = keys.StdoutLines.Single(l => l.Contains("laptop", StringComparison.Ordinal)).Split(' ')[0];

        var revoke = await fixture.RunAsync("key", "revoke", id, keyId);
        Assert.True(revoke.ExitCode == 0, revoke.ToString());
        var refused = await fixture.RunAsync(asUser, "list");
        Assert.True(refused.ExitCode == 1, refused.ToString());
        Assert.StartsWith("error: unauthorized:", refused.Stderr.Trim(), StringComparison.Ordinal);

        var remove = await fixture.RunAsync("user", "rm", name, "--cancel-tasks");
        Assert.True(remove.ExitCode == 0, remove.ToString());
        Assert.Equal($"{id} {name} disabled", remove.Stdout.Trim());
    }

    [Fact]
    public async Task UserAdd_BadInput_OneErrorLineNothingCreated()
    {
        var duplicate = "dup-" + Guid.NewGuid().ToString("N")[..8];
        Assert.Equal(0, (await fixture.RunAsync("user", "add", duplicate)).ExitCode);

        var again = await fixture.RunAsync("user", "add", duplicate);
        var badRole = await fixture.RunAsync("user", "add", "someone", "--role", "root");
        var badName = await fixture.RunAsync("user", "add", "../x");
        var missingUser = await fixture.RunAsync("key", "create", "nobody-" + Guid.NewGuid().ToString("N")[..8]);

        Assert.True(again.ExitCode == 1, again.ToString());
        Assert.Equal($"error: name: a user named '{duplicate}' already exists", again.Stderr.Trim());
        Assert.True(badRole.ExitCode == 2, badRole.ToString());
        Assert.True(badName.ExitCode == 1, badName.ToString());
        Assert.Single(badName.Stderr.Trim().Split('\n'));
        Assert.Contains("name", badName.Stderr, StringComparison.Ordinal);
        Assert.True(missingUser.ExitCode == 1, missingUser.ToString());
        Assert.Contains("no user named", missingUser.Stderr, StringComparison.Ordinal);
        var list = await fixture.RunAsync("user", "ls");
        Assert.DoesNotContain("someone", list.Stdout, StringComparison.Ordinal);
    }
}
