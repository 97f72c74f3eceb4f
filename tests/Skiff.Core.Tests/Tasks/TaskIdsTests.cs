using Skiff.Core.Tasks;

namespace Skiff.Core.Tests.Tasks;

public sealed class TaskIdsTests
{
    private const string Crockford = "0123456789abcdefghjkmnpqrstvwxyz";
    private static readonly DateTimeOffset Start = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void New_Always_WellFormed()
    {
        for (var i = 0; i < 1_000; i++)
        {
            var id = TaskIds.New(Start.AddMilliseconds(i * 7919));
            Assert.Equal(28, id.Length);
            Assert.StartsWith("t_", id, StringComparison.Ordinal);
            Assert.True(TaskIds.IsWellFormed(id), id);
        }
    }

    [Fact]
    public void New_HundredThousandInTheSameMillisecond_AllUnique()
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < 100_000; i++)
        {
            Assert.True(ids.Add(TaskIds.New(Start)));
        }
    }

    [Fact]
    public void New_LeadingTenCharacters_EncodeTheCreationMilliseconds()
    {
        foreach (var at in new[] { DateTimeOffset.UnixEpoch, Start, Start.AddMilliseconds(1), new DateTimeOffset(9999, 12, 31, 0, 0, 0, TimeSpan.Zero) })
        {
            var id = TaskIds.New(at);
            long decoded = 0;
            foreach (var c in id.AsSpan(2, 10))
            {
                decoded = (decoded << 5) | (long)Crockford.IndexOf(c, StringComparison.Ordinal);
            }
            Assert.Equal(at.ToUnixTimeMilliseconds(), decoded);
        }
    }

    [Fact]
    public void New_OrdinalSort_OrdersByCreationMillisecond()
    {
        var random = new Random(42);
        var created = Enumerable.Range(0, 2_000)
            .Select(i => Start.AddMilliseconds((i * 37L) + random.Next(0, 30)))
            .ToArray();
        var ids = created.Select(TaskIds.New).ToArray();

        var shuffled = ids.OrderBy(_ => random.Next()).ToList();
        shuffled.Sort(StringComparer.Ordinal);

        Assert.Equal(ids, shuffled);
    }

    [Fact]
    public void New_AdjacentMilliseconds_EveryEarlierIdSortsFirst()
    {
        var earlier = Enumerable.Range(0, 500).Select(_ => TaskIds.New(Start)).ToArray();
        var later = Enumerable.Range(0, 500).Select(_ => TaskIds.New(Start.AddMilliseconds(1))).ToArray();

        var maxEarlier = earlier.Max(StringComparer.Ordinal)!;
        var minLater = later.Min(StringComparer.Ordinal)!;
        Assert.True(string.CompareOrdinal(maxEarlier, minLater) < 0, $"{maxEarlier} !< {minLater}");
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("t_")]
    [InlineData("t_0000000000000000000000000")]    // 25 characters after the prefix
    [InlineData("t_000000000000000000000000000")]  // 27 characters after the prefix
    [InlineData("x_00000000000000000000000000")]
    [InlineData("T_00000000000000000000000000")]
    [InlineData("t-00000000000000000000000000")]
    [InlineData("t_0000000000000000000000000A")]   // upper case
    [InlineData("t_0000000000000000000000000i")]   // not in Crockford's alphabet
    [InlineData("t_0000000000000000000000000l")]
    [InlineData("t_0000000000000000000000000o")]
    [InlineData("t_0000000000000000000000000u")]
    [InlineData("t_000000000000000000000000/0")]
    [InlineData("t_0000000000000 000000000000")]
    public void IsWellFormed_Malformed_False(string? id)
    {
        Assert.False(TaskIds.IsWellFormed(id));
    }

    [Fact]
    public void IsWellFormed_EveryAlphabetCharacter_True()
    {
        Assert.True(TaskIds.IsWellFormed("t_" + Crockford[..26]));
        Assert.True(TaskIds.IsWellFormed("t_" + Crockford[6..]));
    }
}
