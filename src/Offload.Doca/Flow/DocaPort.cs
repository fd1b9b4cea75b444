using Offload.Doca.Native;

namespace Offload.Doca.Flow;

/// <summary>A started DOCA Flow port; disposing it stops the port once its pipes are destroyed.</summary>
public sealed unsafe class DocaPort : IDisposable
{
    internal DocaPort(ushort id, SafeDocaPortHandle handle)
    {
        Id = id;
        Handle = handle;
    }

    /// <summary>The port id given at start.</summary>
    public ushort Id { get; }

    internal SafeDocaPortHandle Handle { get; }

    /// <summary>Creates a pipe on this port through the shim.</summary>
    /// <exception cref="ArgumentException">The spec cannot be expressed (name too long, missing miss pipe).</exception>
    /// <exception cref="DocaException">DOCA refused it.</exception>
    public DocaPipe CreatePipe(DocaPipeSpec spec)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ObjectDisposedException.ThrowIf(Handle.IsClosed, this);
        OflPipeSpec raw;
        if (!ShimSpecWriter.TryWrite(spec, &raw))
            throw new ArgumentException("the pipe spec cannot be expressed (name over 32 bytes, or Pipe miss fate without a pipe)", nameof(spec));
        DocaFlowPipe* pipe = null;
        ThrowHelper.ThrowIfFailed(Interop.Shim.PipeCreate(Handle.Port, &raw, &pipe), "ofl_pipe_create");
        var handle = new SafeDocaPipeHandle();
        handle.Attach(pipe, Handle);
        return new DocaPipe(this, handle, spec.IsConnectionTracking);
    }

    /// <summary>Stops the port (deferred until its pipes are released).</summary>
    public void Dispose() => Handle.Dispose();
}
