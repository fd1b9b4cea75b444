namespace Offload.Flows;

/// <summary>The outcome of <see cref="FlowTable{TValue}.TryAdd"/>.</summary>
public enum FlowTableStatus
{
    /// <summary>The key was not present and has been inserted.</summary>
    Added,

    /// <summary>The key was already present; nothing changed.</summary>
    Exists,

    /// <summary>The table holds <see cref="FlowTable{TValue}.Capacity"/> entries; the caller must spill
    /// the flow elsewhere (it is never dropped silently).</summary>
    Full,
}
