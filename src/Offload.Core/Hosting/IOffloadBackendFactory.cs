using Offload.Backends;

namespace Offload.Hosting;

/// <summary>
/// Creates a hardware fast-path backend for the hosted switch. Packages that ship a backend (Offload.Doca) register
/// one through <see cref="OffloadBuilderExtensions.AddBackendFactory{TFactory}"/>; factories are looked up by
/// <see cref="Name"/> (case-insensitive), so the options select them as <c>Backend = Doca</c> or <c>Auto</c>.
/// </summary>
public interface IOffloadBackendFactory
{
    /// <summary>The backend's name, as in <see cref="OffloadBackendKind"/> ("doca").</summary>
    string Name { get; }

    /// <summary>Why the backend cannot run on this host (library or device missing), or null when it can. Probed lazily;
    /// must not throw.</summary>
    string? NotSupportedReason { get; }

    /// <summary>Creates the backend. Called once, at start, only when <see cref="NotSupportedReason"/> is null.</summary>
    FlowBackend Create(OffloadComponentContext context);
}
