using System.CommandLine.Parsing;
using System.Globalization;

namespace Skiff.Cli.Commands;

internal static class OptionValidators
{
    public static void AtLeastOne(OptionResult result, string name) => AtLeast(result, name, 1);

    /// <summary>
    /// Rejects a count below <paramref name="minimum"/>. Reads the token rather than the converted value: a validator runs even when
    /// conversion failed, and reading that value would throw instead of reporting the conversion error.
    /// </summary>
    public static void AtLeast(OptionResult result, string name, int minimum)
    {
        if (result.Tokens.Count == 1
            && int.TryParse(result.Tokens[0].Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            && value < minimum)
        {
            result.AddError($"{name} must be at least {minimum}");
        }
    }

    /// <summary>Rejects a count outside <paramref name="minimum"/>..<paramref name="maximum"/> (read from the token, as <see cref="AtLeast"/>).</summary>
    public static void Between(OptionResult result, string name, int minimum, int maximum)
    {
        if (result.Tokens.Count == 1
            && int.TryParse(result.Tokens[0].Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            && (value < minimum || value > maximum))
        {
            result.AddError($"{name} must be between {minimum} and {maximum}");
        }
    }
}
