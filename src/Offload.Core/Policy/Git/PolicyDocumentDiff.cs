using System.Text.Json;
using System.Text.Json.Nodes;

namespace Offload.Policy.Git;

/// <summary>One difference between two policies' documents.</summary>
/// <param name="Path">Where, as in policy errors; items of named lists by name (<c>ports[vm2].mac</c>), others by index.</param>
/// <param name="Before">The old value as compact JSON; <c>null</c> when it was added.</param>
/// <param name="After">The new value as compact JSON; <c>null</c> when it was removed.</param>
public sealed record PolicyDocumentChange(string Path, string? Before, string? After)
{
    /// <summary>"+ path: value", "- path: value" or "~ path: old -> new".</summary>
    public override string ToString() =>
        Before is null ? $"+ {Path}: {After}" : After is null ? $"- {Path}: {Before}" : $"~ {Path}: {Before} -> {After}";
}

/// <summary>
/// What changed between two policies, value by value, on their canonical form (<see cref="PolicySnapshot.ToCanonicalJson"/>),
/// so key order, comments, YAML style and spelled-out defaults make no difference. With
/// <see cref="Switching.VirtualSwitch.PreviewPolicy"/> (what the change does to live flows) this is <c>policy diff A B</c>.
/// </summary>
public static class PolicyDocumentDiff
{
    /// <summary>The differences from <paramref name="before"/> to <paramref name="after"/>, in document order; empty when equal.</summary>
    public static IReadOnlyList<PolicyDocumentChange> Compare(PolicySnapshot before, PolicySnapshot after)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        var changes = new List<PolicyDocumentChange>();
        if (!before.Equals(after))
            Walk("", JsonNode.Parse(before.ToCanonicalJson()), JsonNode.Parse(after.ToCanonicalJson()), changes);
        return changes;
    }

    private static void Walk(string path, JsonNode? a, JsonNode? b, List<PolicyDocumentChange> changes)
    {
        if (JsonNode.DeepEquals(a, b))
            return;
        switch (a, b)
        {
            case (JsonObject oa, JsonObject ob):
                foreach (var (key, va) in oa)
                    Walk(Join(path, key), va, ob.TryGetPropertyValue(key, out var vb) ? vb : null, changes);
                foreach (var (key, vb) in ob)
                {
                    if (!oa.ContainsKey(key))
                        Walk(Join(path, key), null, vb, changes);
                }
                return;
            case (JsonArray xa, JsonArray xb) when Named(xa) && Named(xb):
                var byName = new Dictionary<string, JsonNode>(StringComparer.Ordinal);
                foreach (var item in xb)
                    byName[NameOf(item!)] = item!;
                foreach (var item in xa)
                {
                    string name = NameOf(item!);
                    Walk($"{path}[{name}]", item, byName.Remove(name, out var match) ? match : null, changes);
                }
                foreach (var item in xb)
                {
                    string name = NameOf(item!);
                    if (byName.ContainsKey(name))
                        Walk($"{path}[{name}]", null, item, changes);
                }
                return;
            case (JsonArray xa, JsonArray xb) when xa.Count == xb.Count && xa.Count > 0 && xa[0] is JsonObject or JsonArray:
                for (int i = 0; i < xa.Count; i++)
                    Walk($"{path}[{i}]", xa[i], xb[i], changes);
                return;
            default:
                // A null value is how the canonical form says "not set": report it as added or removed.
                changes.Add(new PolicyDocumentChange(path, Text(a), Text(b)));
                return;
        }
    }

    private static bool Named(JsonArray array)
    {
        if (array.Count == 0)
            return true;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in array)
        {
            if (item is not JsonObject o || !o.TryGetPropertyValue("name", out var n) || n?.GetValueKind() != JsonValueKind.String
                || !seen.Add(n.GetValue<string>()))
                return false;
        }
        return true;
    }

    private static string NameOf(JsonNode item) => item["name"]!.GetValue<string>();

    private static string? Text(JsonNode? node) => node is null || node.GetValueKind() == JsonValueKind.Null ? null : node.ToJsonString();

    private static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";
}
