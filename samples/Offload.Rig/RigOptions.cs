namespace Offload.Rig;

/// <summary>What to run and against which backend.</summary>
public sealed class RigOptions
{
    /// <summary><c>emulator</c> (the DOCA Flow emulator, packet injection available) or <c>doca</c> (the installed DOCA).</summary>
    public string Backend { get; set; } = "emulator";

    /// <summary>Policy YAML text; null uses the embedded rig-policy.yaml (the traffic scenarios assume it).</summary>
    public string? PolicyYaml { get; set; }

    /// <summary>Where the policy came from, for the report.</summary>
    public string PolicyName { get; set; } = "embedded rig-policy.yaml";

    /// <summary>The emulator generation directory holding libdoca_flow.so.2 (emulator backend only).</summary>
    public string? NativeDirectory { get; set; }

    /// <summary>Run only the scenario with this name.</summary>
    public string? Scenario { get; set; }

    /// <summary>
    /// Applied to each expected (software) output frame before it is compared with the device's: a way to prove the
    /// comparison can fail. Null in normal runs.
    /// </summary>
    public Func<byte[], byte[]>? ExpectedFrameTamper { get; set; }

    /// <summary>Emulator faults switched on after each scenario's reset, before the device backend is made. Null in normal runs.</summary>
    public Action<EmulatorDevice>? Faults { get; set; }
}
