namespace Skiff.Server.Telemetry;

/// <summary>
/// One distinct combination of measurement tags: the key of a time series. Tags keep the order they first
/// arrived in and compare as an unordered set, because instrumentation does not promise a stable tag order.
/// </summary>
internal sealed class MetricTagSet
{
    public static readonly MetricTagSet Empty = new([]);

    /// <summary>Stands in for every tag set past an instrument's series limit (OpenTelemetry's name for it).</summary>
    public static readonly MetricTagSet Overflow = new([new("otel.metric.overflow", true)]);

    private readonly KeyValuePair<string, object?>[] _tags;
    private string? _labels;

    private MetricTagSet(KeyValuePair<string, object?>[] tags)
    {
        _tags = tags;
        Hash = ComputeHash(tags);
    }

    public int Hash { get; }

    public ReadOnlySpan<KeyValuePair<string, object?>> Tags => _tags;

    /// <summary>The rendered label pairs without braces (<c>a="1",b="2"</c>), sorted by name; computed once.</summary>
    public string Labels => _labels ??= PrometheusText.FormatLabels(_tags);

    public static MetricTagSet Create(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        if (tags.IsEmpty)
        {
            return Empty;
        }

        var distinct = new List<KeyValuePair<string, object?>>(tags.Length);
        foreach (var tag in tags)
        {
            // A repeated tag name keeps its last value, so a name appears once in the key.
            var existing = IndexOf(distinct, tag.Key);
            if (existing >= 0)
            {
                distinct[existing] = tag;
            }
            else
            {
                distinct.Add(tag);
            }
        }

        return new MetricTagSet([.. distinct]);
    }

    public static int ComputeHash(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        // A sum does not depend on the order of the tags, matching SetEquals.
        var hash = 0;
        foreach (var tag in tags)
        {
            hash = unchecked(hash + HashCode.Combine(tag.Key, tag.Value));
        }

        return hash;
    }

    /// <summary>True when <paramref name="other"/> holds exactly these name/value pairs, in any order.</summary>
    public bool SetEquals(ReadOnlySpan<KeyValuePair<string, object?>> other)
    {
        var mine = _tags;
        if (other.Length != mine.Length)
        {
            return false;
        }

        // Names in this set are unique; marking matches rejects an input that repeats one name.
        Span<bool> matched = mine.Length <= 64 ? stackalloc bool[mine.Length] : new bool[mine.Length];
        for (var i = 0; i < other.Length; i++)
        {
            var name = other[i].Key;

            // Instrumentation usually passes its tags in the same order every time: try the same position first.
            var j = mine[i].Key == name ? i : IndexOf(mine, name);
            if (j < 0 || matched[j] || !Equals(mine[j].Value, other[i].Value))
            {
                return false;
            }

            matched[j] = true;
        }

        return true;
    }

    private static int IndexOf(ReadOnlySpan<KeyValuePair<string, object?>> tags, string name)
    {
        for (var i = 0; i < tags.Length; i++)
        {
            if (tags[i].Key == name)
            {
                return i;
            }
        }

        return -1;
    }

    private static int IndexOf(List<KeyValuePair<string, object?>> tags, string name)
    {
        for (var i = 0; i < tags.Count; i++)
        {
            if (tags[i].Key == name)
            {
                return i;
            }
        }

        return -1;
    }
}

/// <summary>
/// Lets a series dictionary be searched with the measurement's tag span directly, so recording a value on an
/// existing series allocates nothing.
/// </summary>
internal sealed class MetricTagSetComparer :
    IEqualityComparer<MetricTagSet>,
    IAlternateEqualityComparer<ReadOnlySpan<KeyValuePair<string, object?>>, MetricTagSet>
{
    public static readonly MetricTagSetComparer Instance = new();

    public bool Equals(MetricTagSet? x, MetricTagSet? y) =>
        ReferenceEquals(x, y) || (x is not null && y is not null && x.Hash == y.Hash && x.SetEquals(y.Tags));

    public int GetHashCode(MetricTagSet obj) => obj.Hash;

    public bool Equals(ReadOnlySpan<KeyValuePair<string, object?>> alternate, MetricTagSet other) => other.SetEquals(alternate);

    public int GetHashCode(ReadOnlySpan<KeyValuePair<string, object?>> alternate) => MetricTagSet.ComputeHash(alternate);

    public MetricTagSet Create(ReadOnlySpan<KeyValuePair<string, object?>> alternate) => MetricTagSet.Create(alternate);
}
