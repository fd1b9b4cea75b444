using System.Runtime.InteropServices;

namespace Offload.Doca.Flow;

/// <summary>The initialised DOCA Flow library; released (doca_flow_destroy) after every port and pipe is.</summary>
internal sealed class SafeDocaFlowHandle : SafeHandle
{
    public SafeDocaFlowHandle()
        : base(0, ownsHandle: true) => SetHandle(1); // DOCA Flow has no handle: init is process-wide

    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle()
    {
        Interop.DocaFlow.FlowDestroy();
        return true;
    }
}
