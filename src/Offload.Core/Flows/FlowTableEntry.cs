namespace Offload.Flows;

/// <summary>One occupied entry of a <see cref="FlowTable{TValue}"/>, as seen by enumeration.</summary>
/// <typeparam name="TValue">The per-flow value.</typeparam>
public readonly struct FlowTableEntry<TValue>
    where TValue : unmanaged
{
    /// <summary>Creates an entry snapshot.</summary>
    public FlowTableEntry(int handle, FlowKey key, TValue value, FlowStats stats)
    {
        Handle = handle;
        Key = key;
        Value = value;
        Stats = stats;
    }

    /// <summary>The entry's handle (valid until the key is removed).</summary>
    public int Handle { get; }

    /// <summary>The flow key.</summary>
    public FlowKey Key { get; }

    /// <summary>The value stored for the key.</summary>
    public TValue Value { get; }

    /// <summary>The entry's counters.</summary>
    public FlowStats Stats { get; }
}
