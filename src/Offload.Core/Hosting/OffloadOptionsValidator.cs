using Microsoft.Extensions.Options;

namespace Offload.Hosting;

/// <summary>
/// Validates <see cref="OffloadOptions"/> as a whole at start-up (every problem, each naming its option), including
/// that the selected DOCA backend or kernel slow path has a registered factory.
/// </summary>
public sealed class OffloadOptionsValidator : IValidateOptions<OffloadOptions>
{
    private readonly IEnumerable<IOffloadBackendFactory> _backends;
    private readonly IEnumerable<IOffloadSlowPathFactory> _slowPaths;

    /// <summary>Creates the validator over the registered factories.</summary>
    public OffloadOptionsValidator(IEnumerable<IOffloadBackendFactory> backends, IEnumerable<IOffloadSlowPathFactory> slowPaths)
    {
        _backends = backends;
        _slowPaths = slowPaths;
    }

    /// <inheritdoc/>
    public ValidateOptionsResult Validate(string? name, OffloadOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (!Enum.IsDefined(options.Backend))
            errors.Add($"Offload:Backend: '{options.Backend}' is not one of software, doca, auto.");
        else if (options.Backend == OffloadBackendKind.Doca && Find(_backends, "doca") is null)
            errors.Add("Offload:Backend: 'doca' is selected but no DOCA backend is registered "
                + "(reference the Offload.Doca package and add its backend factory to AddOffload), or choose 'auto' to fall back to software.");
        if (!Enum.IsDefined(options.SlowPath))
            errors.Add($"Offload:SlowPath: '{options.SlowPath}' is not one of policy, kernel.");
        else if (options.SlowPath == OffloadSlowPathKind.Kernel && FindSlowPath(_slowPaths, "kernel") is null)
            errors.Add("Offload:SlowPath: 'kernel' is selected but no kernel slow path is registered "
                + "(reference the Offload.Kernel package and add its slow-path factory to AddOffload).");

        bool hasFile = !string.IsNullOrWhiteSpace(options.PolicyFile);
        if (hasFile == (options.Policy is not null))
            errors.Add("Offload:PolicyFile: set exactly one of PolicyFile and Policy.");
        else if (hasFile && !File.Exists(options.PolicyFile))
            errors.Add($"Offload:PolicyFile: '{options.PolicyFile}' does not exist.");

        AtLeast(errors, nameof(options.FlowCapacity), options.FlowCapacity, 1);
        AtLeast(errors, nameof(options.BackendQueueDepth), options.BackendQueueDepth, 1);
        if (options.MaxConnections is { } max)
            AtLeast(errors, nameof(options.MaxConnections), max, 1);
        AtLeast(errors, nameof(options.MaxPendingConnections), options.MaxPendingConnections, 1);
        AtLeast(errors, nameof(options.PendingFramesPerConnection), options.PendingFramesPerConnection, 1);
        AtLeast(errors, nameof(options.FragmentCapacity), options.FragmentCapacity, 16);
        AtLeast(errors, nameof(options.MeterCapacity), options.MeterCapacity, 1);
        AtLeast(errors, nameof(options.RevalidationSlice), options.RevalidationSlice, 1);
        if (options.OffloadMinPackets is { } minPackets)
            AtLeast(errors, nameof(options.OffloadMinPackets), minPackets, 0);
        if (options.OffloadWhen is { } when && !Enum.IsDefined(when))
            errors.Add($"Offload:OffloadWhen: '{when}' is not one of firstPacket, established.");
        if (options.PollInterval < TimeSpan.FromMilliseconds(1) || options.PollInterval > TimeSpan.FromMinutes(1))
            errors.Add($"Offload:PollInterval: {options.PollInterval} is outside 1 ms to 1 min.");
        if (options.DropFlowIdleTimeout < TimeSpan.FromSeconds(1))
            errors.Add($"Offload:DropFlowIdleTimeout: {options.DropFlowIdleTimeout} is shorter than 1 s.");

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void AtLeast(List<string> errors, string option, int value, int minimum)
    {
        if (value < minimum)
            errors.Add($"Offload:{option}: {value} is less than {minimum}.");
    }

    internal static IOffloadBackendFactory? Find(IEnumerable<IOffloadBackendFactory> factories, string name)
    {
        // Last registration wins, as with other DI services.
        IOffloadBackendFactory? found = null;
        foreach (var f in factories)
        {
            if (string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase))
                found = f;
        }
        return found;
    }

    internal static IOffloadSlowPathFactory? FindSlowPath(IEnumerable<IOffloadSlowPathFactory> factories, string name)
    {
        IOffloadSlowPathFactory? found = null;
        foreach (var f in factories)
        {
            if (string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase))
                found = f;
        }
        return found;
    }
}
