using Offload.Flows;

namespace Offload.LoadBalancing;

/// <summary>
/// Chooses a load-balancer backend for the first packet of a connection (claim C10). Selectors are built
/// for a fixed backend list; when the list changes, build a new selector and swap it in. Stickiness is the
/// caller's job: conntrack records the chosen backend with the connection and later packets never ask
/// again, so a selector only has to be good at spreading new connections.
/// </summary>
public interface IBackendSelector
{
    /// <summary>Number of backends the selector was built for.</summary>
    int BackendCount { get; }

    /// <summary>
    /// The backend index for a new connection, or −1 when no backend is usable.
    /// </summary>
    /// <param name="key">The connection's original-direction key.</param>
    /// <param name="activeConnectionsPerBackend">Live connection counts per backend (from conntrack), or
    /// empty when unknown. A negative count marks a backend unusable (down or draining); entries past the
    /// end are treated as usable with unknown count.</param>
    int Select(in FlowKey key, ReadOnlySpan<int> activeConnectionsPerBackend);
}
