using System.CommandLine.Parsing;
using System.Globalization;

namespace Skiff.Cli.Commands;

internal static class OptionValidators
{
    /// <summary>
    /// Rejects a count below 1. Reads the token rather than the converted value: a validator runs even when
    /// conversion failed, and reading that value would throw instead of reporting the conversion error.
    /// </summary>
    public static void AtLeastOne(OptionResult result, string name)
    {
        if (result.Tokens.Count == 1
            && int.TryParse(result.Tokens[0].Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            && value < 1)
        {
            result.AddError($"{name} must be at least 1");
        }
    }
}
