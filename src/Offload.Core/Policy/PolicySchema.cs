using System.Reflection;

namespace Offload.Policy;

/// <summary>
/// The JSON Schema (draft 2020-12) of the policy document, for editors and CI linting. It is also copied next to
/// the assembly as <c>policy.schema.json</c>. The loader remains the authority: the schema cannot express
/// cross-references (dangling names, overlaps, duplicates) that <see cref="PolicyValidator"/> checks.
/// </summary>
public static class PolicySchema
{
    private const string ResourceName = "Offload.Policy.policy.schema.json";

    private static readonly Lazy<string> Text = new(() =>
    {
        using var stream = typeof(PolicySchema).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"Embedded resource {ResourceName} is missing from {typeof(PolicySchema).Assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    });

    /// <summary>The schema text.</summary>
    public static string Json => Text.Value;
}
