using Offload.Backends;
using Offload.Backends.ContractTests;
using Offload.Backends.Software;
using Offload.Flows;

namespace Offload.Tests.Backends;

public sealed class SoftwareBackendContractTests : FlowBackendContractTests
{
    protected override FlowBackend CreateBackend(int capacity, int queueDepth, TimeProvider time) =>
        new SoftwareBackend(new SoftwareBackendOptions { Capacity = capacity, QueueDepth = queueDepth }, time);

    protected override void SendThrough(FlowBackend backend, in FlowKey key, int bytes)
    {
        var software = (SoftwareBackend)backend;
        software.TryLookup(key, out int handle, out _).Should().BeTrue();
        software.RecordHit(handle, bytes, Time.GetTimestamp());
    }
}
