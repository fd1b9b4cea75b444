using Offload.Policy;
using Offload.Switching;

namespace Offload.Hosting;

/// <summary>What a backend or slow-path factory is given when the hosted switch starts.</summary>
/// <param name="Services">The application's services (for a factory's own options, loggers, native library resolvers).</param>
/// <param name="Options">The validated options.</param>
/// <param name="Policy">The policy in force at start (with the options' overrides applied).</param>
/// <param name="Ports">Port numbering shared by the datapath and the slow path (names ↔ numbers; the uplink is
/// <see cref="PortRegistry.Uplink"/>).</param>
/// <param name="TimeProvider">The clock every component uses.</param>
public sealed record OffloadComponentContext(
    IServiceProvider Services, OffloadOptions Options, PolicySnapshot Policy, PortRegistry Ports, TimeProvider TimeProvider);
