namespace Skiff.Runtime.Images;

/// <summary>
/// <c>NAME[:TAG]</c>: the name is lowercase letters, digits and <c>. _ - /</c> (path-like segments, as registries
/// name repositories), the tag letters, digits and <c>. _ -</c>; <c>latest</c> when omitted.
/// </summary>
public sealed record ImageReference(string Name, string Tag)
{
    public const string DefaultTag = "latest";
    public const int MaxLength = 128;

    public override string ToString() => Name + ":" + Tag;

    /// <summary>Parses <paramref name="text"/>; on failure <paramref name="error"/> says what is wrong.</summary>
    public static bool TryParse(string? text, out ImageReference reference, out string error)
    {
        reference = new ImageReference("", DefaultTag);
        if (string.IsNullOrEmpty(text))
        {
            error = "must not be empty";
            return false;
        }
        if (text.Length > MaxLength)
        {
            error = $"must be at most {MaxLength} characters";
            return false;
        }
        var colon = text.LastIndexOf(':');
        var name = colon < 0 ? text : text[..colon];
        var tag = colon < 0 ? DefaultTag : text[(colon + 1)..];
        if (!IsValidName(name))
        {
            error = $"'{Shorten(text)}' is not NAME[:TAG]: the name takes lowercase letters, digits and '.', '_', '-', '/' "
                + "(starting with a letter or digit, no empty, '.' or '..' segment)";
            return false;
        }
        if (tag.Length == 0 || !char.IsAsciiLetterOrDigit(tag[0]) || !tag.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
        {
            error = $"'{Shorten(text)}' has an invalid tag: letters, digits, '.', '_' or '-', starting with a letter or digit";
            return false;
        }
        reference = new ImageReference(name, tag);
        error = "";
        return true;
    }

    public static ImageReference Parse(string text) =>
        TryParse(text, out var reference, out var error) ? reference : throw new ArgumentException(error, nameof(text));

    internal static bool IsValidName(string name) =>
        name.Length > 0
        && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '.' or '_' or '-' or '/')
        && name.Split('/').All(segment => segment.Length > 0 && char.IsAsciiLetterOrDigit(segment[0]));

    private static string Shorten(string text) => text.Length <= 64 ? text : text[..64] + "…";
}
