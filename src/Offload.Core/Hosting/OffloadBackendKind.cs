namespace Offload.Hosting;

/// <summary>Which fast-path backend <see cref="OffloadRuntime"/> uses.</summary>
public enum OffloadBackendKind
{
    /// <summary>The software flow table in this process.</summary>
    Software,
    /// <summary>A SmartNIC through DOCA Flow; start-up fails when no usable DOCA backend factory is registered.</summary>
    Doca,
    /// <summary>DOCA when a registered factory says it is usable on this host, otherwise software (the reason is logged).</summary>
    Auto,
}
