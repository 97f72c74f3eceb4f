using System.Text;

namespace Skiff.Core.Secrets;

/// <summary>
/// What a secret's name and value may be, and how tasks refer to secrets. Names are plain tokens: never a path,
/// so a name can become a file name or a URL segment without escaping.
/// </summary>
public static class SecretNames
{
    public const int MaxNameLength = 256;

    /// <summary>64 KiB of UTF-8: enough for a certificate chain or a kubeconfig, small enough to keep in a row.</summary>
    public const int MaxValueBytes = 64 * 1024;

    /// <summary>How many secrets one task may use.</summary>
    public const int MaxPerTask = 64;

    public const int MaxEnvNameLength = 256;

    public const string NameRule = "1–256 characters: letters, digits, '_', '.' or '-', starting with a letter, digit or '_'";

    public const string EnvNameRule = "an environment variable name: letters, digits and '_', not starting with a digit, at most 256 characters";

    /// <summary>Letters, digits, '_', '.', '-'; the first is not '.' or '-' (so never ".", ".." or an option-like "-x").</summary>
    public static bool IsValidName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxNameLength || name[0] is '.' or '-')
        {
            return false;
        }
        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-'))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>POSIX-portable variable names, which every shell and runtime accepts.</summary>
    public static bool IsValidEnvName(string? name)
    {
        if (string.IsNullOrEmpty(name) || name.Length > MaxEnvNameLength || char.IsAsciiDigit(name[0]))
        {
            return false;
        }
        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '_'))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Why <paramref name="value"/> cannot be a secret's value, or null when it can.</summary>
    public static string? CheckValue(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return "is required: a non-empty string";
        }
        // The value becomes an environment variable, which cannot hold NUL.
        if (value.Contains('\0', StringComparison.Ordinal))
        {
            return "must not contain NUL characters";
        }
        var bytes = Encoding.UTF8.GetByteCount(value);
        return bytes > MaxValueBytes ? $"is {bytes} bytes; at most {MaxValueBytes} bytes (64 KB) of UTF-8" : null;
    }
}
