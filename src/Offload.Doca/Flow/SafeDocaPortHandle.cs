using System.Runtime.InteropServices;
using Offload.Doca.Native;

namespace Offload.Doca.Flow;

/// <summary>A started port; holds a reference on the library so doca_flow_destroy waits for the port's stop.</summary>
internal sealed unsafe class SafeDocaPortHandle : SafeHandle
{
    private SafeDocaFlowHandle? _parent;

    public SafeDocaPortHandle()
        : base(0, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == 0;

    public DocaFlowPort* Port => (DocaFlowPort*)handle;

    internal void Attach(DocaFlowPort* port, SafeDocaFlowHandle parent)
    {
        bool added = false;
        parent.DangerousAddRef(ref added);
        _parent = parent;
        SetHandle((nint)port);
    }

    protected override bool ReleaseHandle()
    {
        int status = Interop.DocaFlow.PortStop((DocaFlowPort*)handle);
        _parent?.DangerousRelease();
        return status == 0;
    }
}
