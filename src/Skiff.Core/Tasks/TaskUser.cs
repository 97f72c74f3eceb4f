using System.Globalization;

namespace Skiff.Core.Tasks;

/// <summary>
/// The numeric identity a task's process runs as: <c>"uid"</c> or <c>"uid:gid"</c>. Names are not accepted:
/// they would be resolved against the image's /etc/passwd, which the task's image author controls.
/// </summary>
public readonly record struct TaskUser(uint Uid, uint Gid)
{
    /// <summary>nobody:nogroup.</summary>
    public static readonly TaskUser Default = new(TaskDefaults.NobodyId, TaskDefaults.NobodyId);

    /// <summary>Whether the identity is root's (uid 0 or gid 0: root's group reads what root's group may).</summary>
    public bool IsRoot => Uid == 0 || Gid == 0;

    /// <summary>
    /// Parses <c>"uid"</c> (the gid is then the uid, never root's group by accident) or <c>"uid:gid"</c>;
    /// decimal digits only. 4294967295 is refused: it is (uid_t)-1, "no change" to the kernel.
    /// </summary>
    public static bool TryParse(string? text, out TaskUser user)
    {
        user = default;
        if (string.IsNullOrEmpty(text) || text.Length > 21)
        {
            return false;
        }
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var uidText = colon < 0 ? text : text[..colon];
        var gidText = colon < 0 ? uidText : text[(colon + 1)..];
        if (!TryParseId(uidText, out var uid) || !TryParseId(gidText, out var gid))
        {
            return false;
        }
        user = new TaskUser(uid, gid);
        return true;
    }

    public static TaskUser Parse(string text) =>
        TryParse(text, out var user) ? user : throw new FormatException($"'{text}' is not a numeric uid or uid:gid");

    public override string ToString() => $"{Uid.ToString(CultureInfo.InvariantCulture)}:{Gid.ToString(CultureInfo.InvariantCulture)}";

    private static bool TryParseId(string text, out uint id) =>
        uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out id) && id != uint.MaxValue;
}
