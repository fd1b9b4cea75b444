namespace Offload.Kernel.Conntrack;

/// <summary>What happened to a kernel conntrack entry.</summary>
public enum ConntrackEventKind : byte
{
    /// <summary>The entry was created (confirmed).</summary>
    New = 1,
    /// <summary>The entry changed (state, status, mark, timeout, …).</summary>
    Update,
    /// <summary>The entry was removed (expired, deleted, flushed).</summary>
    Destroy,
}
