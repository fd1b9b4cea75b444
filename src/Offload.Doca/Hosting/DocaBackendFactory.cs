using Microsoft.Extensions.Options;
using Offload.Backends;
using Offload.Backends.Software;
using Offload.Doca.Backends;
using Offload.Hosting;
using Offload.Switching;

namespace Offload.Doca.Hosting;

/// <summary>
/// Creates the DOCA backend for the hosted switch (<c>Backend = Doca</c> or <c>Auto</c>): one DOCA port per local VM
/// port of the policy (its network's VNI implied) plus the uplink, DOCA port ids being the switch's port numbers.
/// Registered by <see cref="DocaOffloadBuilderExtensions.AddDoca"/>.
/// </summary>
public sealed class DocaBackendFactory : IOffloadBackendFactory
{
    private readonly DocaHostingOptions _options;
    private readonly Func<string?> _probe;

    /// <summary>Creates the factory with the configured <see cref="DocaHostingOptions"/>.</summary>
    public DocaBackendFactory(IOptions<DocaHostingOptions> options)
        : this(options?.Value ?? throw new ArgumentNullException(nameof(options)), static () => DocaLibrary.NotSupportedReason)
    {
    }

    // Tests give a probe that answers "not here" on a host where the emulator is loaded.
    internal DocaBackendFactory(DocaHostingOptions options, Func<string?> probe)
    {
        _options = options;
        _probe = probe;
    }

    /// <inheritdoc/>
    public string Name => "doca";

    /// <inheritdoc/>
    public string? NotSupportedReason
    {
        get
        {
            try
            {
                return _probe();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                return "probing DOCA failed: " + e.Message;
            }
        }
    }

    /// <inheritdoc/>
    public FlowBackend Create(OffloadComponentContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var policy = context.Policy;
        var ports = new List<DocaIngressPort> { new(PortRegistry.Uplink) };
        foreach (var port in policy.Ports)
        {
            if (!policy.IsLocal(port))
                continue;
            uint vni = 0;
            foreach (var network in policy.Networks)
            {
                if (string.Equals(network.Name, port.Network, StringComparison.Ordinal))
                    vni = (uint)network.Vni;
            }
            ports.Add(new DocaIngressPort(context.Ports.GetOrAdd(port.Name), vni));
        }
        var device = new DocaBackend(new DocaBackendOptions
        {
            Ports = ports, MaxFlows = _options.MaxFlows, QueueDepth = _options.QueueDepth, Queues = _options.Queues,
            ConnectionTracking = _options.ConnectionTracking,
        });
        if (!_options.SoftwareFallback)
            return device;
        try
        {
            var software = new SoftwareBackendOptions { Capacity = context.Options.FlowCapacity, QueueDepth = context.Options.BackendQueueDepth };
            return new ResilientOffloadBackend(device, new SoftwareBackend(software, context.TimeProvider), _options.Resilience, context.TimeProvider);
        }
        catch
        {
            device.Dispose();
            throw;
        }
    }
}
