using Offload.Backends;
using Offload.Backends.Software;
using Offload.Conntrack;
using Offload.Datapath;

namespace Offload.Hosting;

// What one observable-instrument callback reads, taken under the runtime's lock.
internal sealed record MetricsReading(
    DatapathStats Stats, ConntrackTable Conntrack, SoftwareBackend Software, FlowBackend? Hardware, long FastPathBytes, long SlowPathBytes,
    IReadOnlyList<OffloadPortCounters> Ports);
