namespace Offload.Doca;

/// <summary>Which DOCA Flow entry API the loaded library has (see doca-notes.md).</summary>
public enum DocaApiGeneration
{
    /// <summary>Not loaded, or neither add-entry function is exported.</summary>
    Unknown = 0,
    /// <summary>2.9 … 3.2: <c>doca_flow_pipe_add_entry</c>, action index inside the actions struct.</summary>
    A = 1,
    /// <summary>3.3 and later: <c>doca_flow_pipe_basic_add_entry</c> with the action index as an argument.</summary>
    B = 2,
}
