namespace Offload.Doca.Flow;

/// <summary>An entry's state (<c>doca_flow_entry_status</c>).</summary>
public enum DocaEntryStatus
{
    /// <summary>Submitted; its completion has not been delivered yet.</summary>
    InProcess = 0,
    /// <summary>The last operation completed.</summary>
    Success = 1,
    /// <summary>The last operation failed.</summary>
    Error = 2,
}
