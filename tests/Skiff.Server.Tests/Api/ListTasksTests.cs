using System.Text.Json.Nodes;
using Skiff.Server.Tests.Infrastructure;
using Xunit;

namespace Skiff.Server.Tests.Api;

/// <summary>GET /tasks: order, filters and keyset pagination. Tests of this collection run one at a time, so no task appears mid-test.</summary>
[Collection(IdleServerCollection.Name)]
public sealed class ListTasksTests(IdleServerFixture fixture)
{
    private SkiffTestServer Server => fixture.Server;

    private async Task<List<string>> SubmitManyAsync(params int[] priorities)
    {
        var ids = new List<string>();
        foreach (var priority in priorities)
        {
            ids.Add(await Server.SubmitIdAsync(TaskJson.Command("true").With("priority", priority)));
        }
        return ids;
    }

    private static List<JsonObject> Items(JsonObject page) => page["items"]!.AsArray().Select(i => i!.AsObject()).ToList();

    [Fact]
    public async Task List_NoFilter_NewestFirst()
    {
        var submitted = await SubmitManyAsync(0, 3, 8, 1);

        var page = await Server.GetJsonAsync("/tasks?limit=4");

        Assert.Equal(Enumerable.Reverse(submitted), Items(page).Select(t => (string)t["taskId"]!));
        Assert.NotNull(page["nextCursor"]);
        Assert.All(Items(page), t => Assert.Null(t["events"]));
    }

    [Fact]
    public async Task List_StatusFilter_OnlyTasksInThatStatus()
    {
        var ids = await SubmitManyAsync(0, 0, 0);
        using (var cancel = await Server.PostAsync($"/tasks/{ids[1]}/cancel"))
        {
            Assert.True(cancel.IsSuccessStatusCode);
        }

        var cancelled = Items(await Server.GetJsonAsync("/tasks?status=cancelled&limit=500"));
        var queued = Items(await Server.GetJsonAsync("/tasks?status=queued&limit=500"));

        Assert.All(cancelled, t => Assert.Equal("cancelled", (string)t["status"]!));
        Assert.All(queued, t => Assert.Equal("queued", (string)t["status"]!));
        Assert.Contains(ids[1], cancelled.Select(t => (string)t["taskId"]!));
        Assert.DoesNotContain(ids[1], queued.Select(t => (string)t["taskId"]!));
        Assert.Contains(ids[0], queued.Select(t => (string)t["taskId"]!));
        Assert.Contains(ids[2], queued.Select(t => (string)t["taskId"]!));
    }

    [Fact]
    public async Task List_PriorityFilter_OnlyThatPriorityNewestFirst()
    {
        var ids = await SubmitManyAsync(2, 9, 2, 9);

        var nines = Items(await Server.GetJsonAsync("/tasks?priority=9&limit=500"));

        Assert.All(nines, t => Assert.Equal(9, (int)t["priority"]!));
        Assert.Equal([ids[3], ids[1]], nines.Select(t => (string)t["taskId"]!).Take(2));
        Assert.DoesNotContain(ids[0], nines.Select(t => (string)t["taskId"]!));
    }

    [Fact]
    public async Task List_UserIdFilter_OnlyThatUsersTasks()
    {
        var id = await Server.SubmitIdAsync(TaskJson.Command("true"));

        var admins = Items(await Server.GetJsonAsync("/tasks?userId=u_admin&limit=500"));
        var nobodys = Items(await Server.GetJsonAsync("/tasks?userId=u_nobody"));

        Assert.All(admins, t => Assert.Equal("u_admin", (string)t["userId"]!));
        Assert.Equal(id, (string)admins[0]["taskId"]!);
        Assert.Empty(nobodys);
    }

    [Fact]
    public async Task List_LimitAndCursor_PagesWithoutDuplicatesOrGaps()
    {
        await SubmitManyAsync(1, 2, 3, 4, 5, 6, 7);
        var all = await Server.ListAllTaskIdsAsync();

        var paged = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await Server.GetJsonAsync("/tasks?limit=3" + (cursor is null ? "" : "&cursor=" + cursor));
            var items = Items(page);
            Assert.InRange(items.Count, 1, 3);
            paged.AddRange(items.Select(t => (string)t["taskId"]!));
            cursor = (string?)page["nextCursor"];
            pages++;
            Assert.True(cursor is null || items.Count == 3, "only the last page may be short");
        }
        while (cursor is not null);

        Assert.Equal(all, paged);
        Assert.Equal(paged.Count, paged.Distinct().Count());
        Assert.Equal((all.Count + 2) / 3, pages);
    }

    [Fact]
    public async Task List_FilterAndCursor_PagesWithinTheFilter()
    {
        await SubmitManyAsync(10, 0, 10, 0, 10, 10);
        var tens = await Server.ListAllTaskIdsAsync("&priority=10");

        var first = await Server.GetJsonAsync("/tasks?priority=10&limit=2");
        var second = await Server.GetJsonAsync($"/tasks?priority=10&limit=2&cursor={first["nextCursor"]}");

        Assert.Equal(tens.Take(4), Items(first).Concat(Items(second)).Select(t => (string)t["taskId"]!));
    }
}
