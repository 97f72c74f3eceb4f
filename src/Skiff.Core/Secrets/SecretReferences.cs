using Skiff.Core.Tasks;
using Skiff.Core.Validation;

namespace Skiff.Core.Secrets;

/// <summary>Checks a task's <see cref="TaskSpec.Secrets"/>: variable names, secret names, how many, no clash with <c>env</c>.</summary>
public static class SecretReferences
{
    public const string Field = "secrets";

    public static void Validate(TaskSpec spec, ValidationErrors errors)
    {
        if (spec.Secrets.Count > SecretNames.MaxPerTask)
        {
            errors.Add(Field, $"at most {SecretNames.MaxPerTask} secrets per task (got {spec.Secrets.Count})");
            return;
        }
        foreach (var (variable, secret) in spec.Secrets)
        {
            if (!SecretNames.IsValidEnvName(variable))
            {
                errors.Add(Field, $"'{Truncate(variable)}' is not {SecretNames.EnvNameRule}");
            }
            else if (spec.Env.ContainsKey(variable))
            {
                errors.Add(Field, $"'{variable}' is also set in env; a variable comes from one or the other");
            }
            if (!SecretNames.IsValidName(secret))
            {
                errors.Add(Field, $"'{Truncate(variable)}' names an invalid secret '{Truncate(secret ?? "")}': a secret name is {SecretNames.NameRule}");
            }
        }
    }

    private static string Truncate(string value) => value.Length <= 64 ? value : value[..64] + "…";
}
