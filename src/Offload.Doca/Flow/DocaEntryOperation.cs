namespace Offload.Doca.Flow;

/// <summary>What a completion reports (<c>doca_flow_entry_op</c>).</summary>
public enum DocaEntryOperation
{
    /// <summary>An add completed.</summary>
    Add = 0,
    /// <summary>A remove completed; the entry handle is dead after this.</summary>
    Remove = 1,
    /// <summary>An update completed.</summary>
    Update = 2,
    /// <summary>The entry has been idle past its aging time (it is not removed).</summary>
    Aged = 3,
}
