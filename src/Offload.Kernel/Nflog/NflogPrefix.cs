using System.Collections.Frozen;

namespace Offload.Kernel.Nflog;

/// <summary>
/// Reads the <c>reason:id</c> log prefixes of the generated ruleset back into a <see cref="DropReason"/> and the id of
/// the rule that dropped (see <see cref="Nftables.NftablesRulesetGenerator"/>).
/// </summary>
public static class NflogPrefix
{
    private static readonly FrozenDictionary<string, DropReason> Reasons = BuildReasons();

    /// <summary>
    /// Splits <paramref name="prefix"/> at its first colon. False (reason <see cref="DropReason.None"/>, the whole prefix
    /// as id) when the part before it is not a drop reason's kebab name: a prefix some other rule wrote.
    /// </summary>
    public static bool TryParse(string prefix, out DropReason reason, out string ruleId)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        int colon = prefix.IndexOf(':', StringComparison.Ordinal);
        string name = colon < 0 ? prefix : prefix[..colon];
        if (name.Length > 0 && Reasons.TryGetValue(name, out reason) && reason != DropReason.None)
        {
            ruleId = colon < 0 ? string.Empty : prefix[(colon + 1)..];
            return true;
        }
        reason = DropReason.None;
        ruleId = prefix;
        return false;
    }

    private static FrozenDictionary<string, DropReason> BuildReasons()
    {
        var map = new Dictionary<string, DropReason>(StringComparer.Ordinal);
        foreach (DropReason r in Enum.GetValues<DropReason>())
            map.TryAdd(r.Name(), r);
        return map.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
