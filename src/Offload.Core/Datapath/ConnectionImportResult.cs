namespace Offload.Datapath;

/// <summary>Outcome of <see cref="Datapath.ImportConnection"/>.</summary>
public enum ConnectionImportResult : byte
{
    /// <summary>The connection is tracked and its flows installed (as the offload policy allows).</summary>
    Imported = 0,
    /// <summary>One of its tuples is already tracked; nothing changed.</summary>
    Exists,
    /// <summary>The conntrack table is full; nothing changed.</summary>
    TableFull,
    /// <summary>Nothing to import: the decision does not forward a tracked connection (a drop, untracked, no action),
    /// the state does not fit the protocol, or the timeout is not in (0, one year].</summary>
    Invalid,
}
