using Offload.Doca.Native;

namespace Offload.Doca.Flow;

/// <summary>
/// A pipe. Entry calls return <see cref="DocaError"/> instead of throwing (the backend decides
/// between retry, spill to software and fallback per code); the completion arrives later through
/// <see cref="DocaFlow.ProcessCompletions"/> with the cookie given here.
/// </summary>
public sealed unsafe class DocaPipe : IDisposable
{
    internal DocaPipe(DocaPort port, SafeDocaPipeHandle handle, bool isConnectionTracking)
    {
        Port = port;
        Handle = handle;
        IsConnectionTracking = isConnectionTracking;
    }

    /// <summary>The port the pipe lives on.</summary>
    public DocaPort Port { get; }

    /// <summary>A Flow CT pipe.</summary>
    public bool IsConnectionTracking { get; }

    internal SafeDocaPipeHandle Handle { get; }

    /// <summary>Submits an add on <paramref name="queue"/>; <paramref name="batch"/> defers the push to the next non-batched submission.</summary>
    public DocaError TryAdd(ushort queue, in DocaEntrySpec spec, long cookie, out DocaEntry entry, bool batch = false)
    {
        entry = default;
        OflEntrySpec raw;
        if (!ShimSpecWriter.TryWrite(spec, &raw))
            return DocaError.InvalidValue;
        DocaFlowPipeEntry* e = null;
        var rc = (DocaError)Interop.Shim.EntryAdd(Handle.Pipe, queue, &raw, batch ? ShimAbi.SubmitBatch : ShimAbi.SubmitNoWait, (void*)cookie, &e);
        if (rc == DocaError.Success)
            entry = new DocaEntry(e);
        return rc;
    }

    /// <summary>Submits an update of the action and monitoring (the match is fixed).</summary>
    public DocaError TryUpdate(ushort queue, DocaEntry entry, in DocaEntrySpec spec, bool batch = false)
    {
        OflEntrySpec raw;
        if (entry.IsNone || !ShimSpecWriter.TryWrite(spec, &raw))
            return DocaError.InvalidValue;
        return (DocaError)Interop.Shim.EntryUpdate(Handle.Pipe, queue, entry.Pointer, &raw, batch ? ShimAbi.SubmitBatch : ShimAbi.SubmitNoWait);
    }

    /// <summary>Submits a remove; the entry is dead once its <see cref="DocaEntryOperation.Remove"/> completes.</summary>
    public static DocaError TryRemove(ushort queue, DocaEntry entry, bool batch = false) =>
        entry.IsNone ? DocaError.InvalidValue
        : (DocaError)Interop.Shim.EntryRemove(queue, entry.Pointer, batch ? ShimAbi.SubmitBatch : ShimAbi.SubmitNoWait);

    /// <summary>The entry's status: in process until its completion has been delivered.</summary>
    public static DocaEntryStatus GetStatus(DocaEntry entry) =>
        (DocaEntryStatus)Interop.DocaFlow.PipeEntryGetStatus(entry.Pointer);

    /// <summary>Reads an entry's counters.</summary>
    public static DocaError TryQueryCounters(DocaEntry entry, out DocaCounters counters)
    {
        DocaResourceQuery q;
        var rc = (DocaError)Interop.DocaFlow.ResourceQueryEntry(entry.Pointer, &q);
        counters = rc == DocaError.Success ? new DocaCounters(q.TotalPackets, q.TotalBytes) : default;
        return rc;
    }

    /// <summary>Prepares and submits a CT connection (both directions) on this CT pipe.</summary>
    public DocaError TryAddConnection(ushort queue, in DocaConnectionSpec spec, long cookie, out DocaEntry entry)
    {
        entry = default;
        OflCtSpec raw;
        if (!IsConnectionTracking || !ShimSpecWriter.TryWrite(spec, &raw))
            return DocaError.InvalidValue;
        DocaFlowPipeEntry* e = null;
        var rc = (DocaError)Interop.Shim.CtEntryAdd(Handle.Pipe, queue, &raw, (void*)cookie, &e);
        if (rc == DocaError.Success)
            entry = new DocaEntry(e);
        return rc;
    }

    /// <summary>Submits new per-direction actions and timeout for a CT connection (its tuples are fixed).</summary>
    public DocaError TryUpdateConnection(ushort queue, DocaEntry entry, in DocaConnectionSpec spec)
    {
        OflCtSpec raw;
        if (entry.IsNone || !IsConnectionTracking || !ShimSpecWriter.TryWrite(spec, &raw))
            return DocaError.InvalidValue;
        return (DocaError)Interop.Shim.CtEntryUpdate(Handle.Pipe, queue, entry.Pointer, &raw);
    }

    /// <summary>Submits the removal of a CT connection.</summary>
    public DocaError TryRemoveConnection(ushort queue, DocaEntry entry) =>
        entry.IsNone || !IsConnectionTracking ? DocaError.InvalidValue
        : (DocaError)Interop.Shim.CtEntryRemove(Handle.Pipe, queue, entry.Pointer);

    /// <summary>Reads a CT connection's per-direction counters.</summary>
    public DocaError TryQueryConnection(ushort queue, DocaEntry entry, out DocaConnectionStats stats)
    {
        stats = default;
        if (entry.IsNone || !IsConnectionTracking)
            return DocaError.InvalidValue;
        OflCtStats s;
        var rc = (DocaError)Interop.Shim.CtEntryQuery(Handle.Pipe, queue, entry.Pointer, &s);
        if (rc == DocaError.Success)
            stats = new DocaConnectionStats(new DocaCounters(s.OriginPackets, s.OriginBytes), new DocaCounters(s.ReplyPackets, s.ReplyBytes), s.LastHitSeconds);
        return rc;
    }

    /// <summary>Destroys the pipe and every entry in it.</summary>
    public void Dispose() => Handle.Dispose();
}
