using System.Runtime.InteropServices;
using Offload.Doca.Native;

namespace Offload.Doca.Flow;

/// <summary>A pipe; holds a reference on its port so the port stops only after the pipe is destroyed.</summary>
internal sealed unsafe class SafeDocaPipeHandle : SafeHandle
{
    private SafeDocaPortHandle? _parent;

    public SafeDocaPipeHandle()
        : base(0, ownsHandle: true)
    {
    }

    public override bool IsInvalid => handle == 0;

    public DocaFlowPipe* Pipe => (DocaFlowPipe*)handle;

    internal void Attach(DocaFlowPipe* pipe, SafeDocaPortHandle parent)
    {
        bool added = false;
        parent.DangerousAddRef(ref added);
        _parent = parent;
        SetHandle((nint)pipe);
    }

    protected override bool ReleaseHandle()
    {
        Interop.DocaFlow.PipeDestroy((DocaFlowPipe*)handle);
        _parent?.DangerousRelease();
        return true;
    }
}
