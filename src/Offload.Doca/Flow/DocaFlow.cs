using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Text;
using Offload.Doca.Native;

namespace Offload.Doca.Flow;

/// <summary>
/// The initialised DOCA Flow library (doca_flow_init … doca_flow_destroy). DOCA allows one
/// initialisation per process, so at most one instance is live at a time; the native completion
/// callback finds it through a GCHandle kept in a static (DOCA's callback has no context argument
/// of its own: usr_ctx is per entry and carries the caller's cookie).
/// </summary>
public sealed unsafe class DocaFlow : IDisposable
{
    private static nint s_active; // GCHandle of the live instance, for the native callback
    private static readonly Lock s_initLock = new();

    private readonly SafeDocaFlowHandle _handle;
    private readonly IDocaCompletionSink _sink;
    private GCHandle _self;
    private ExceptionDispatchInfo? _callbackFailure;
    private int _delivered;

    private DocaFlow(SafeDocaFlowHandle handle, IDocaCompletionSink sink)
    {
        _handle = handle;
        _sink = sink;
    }

    /// <summary>The entry API generation in use.</summary>
    public static DocaApiGeneration Generation => DocaLibrary.Generation;

    /// <summary>Initialises DOCA Flow (and Flow CT when configured); completions go to <paramref name="sink"/>.</summary>
    /// <exception cref="PlatformNotSupportedException">DOCA or the shim cannot be loaded.</exception>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    /// <exception cref="DocaException">DOCA refused the configuration.</exception>
    public static DocaFlow Initialize(DocaFlowOptions options, IDocaCompletionSink sink)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(sink);
        DocaLibrary.ThrowIfNotSupported();
        IReadOnlyList<string> errors = options.Validate();
        if (errors.Count > 0)
            throw new ArgumentException(string.Join("; ", errors), nameof(options));

        lock (s_initLock)
        {
            if (s_active != 0)
                throw new InvalidOperationException("DOCA Flow is already initialised in this process");
            DocaFlowCfg* cfg = null;
            ThrowHelper.ThrowIfFailed(Interop.DocaFlow.FlowCfgCreate(&cfg), "doca_flow_cfg_create");
            try
            {
                ThrowHelper.ThrowIfFailed(Interop.DocaFlow.FlowCfgSetPipeQueues(cfg, options.PipeQueues), "doca_flow_cfg_set_pipe_queues");
                if (options.QueueDepth != 0)
                    ThrowHelper.ThrowIfFailed(Interop.DocaFlow.FlowCfgSetQueueDepth(cfg, options.QueueDepth), "doca_flow_cfg_set_queue_depth");
                if (options.Counters != 0)
                    ThrowHelper.ThrowIfFailed(Interop.DocaFlow.FlowCfgSetNrCounters(cfg, options.Counters), "doca_flow_cfg_set_nr_counters");
                fixed (byte* mode = Utf8(options.ModeArgs))
                    ThrowHelper.ThrowIfFailed(Interop.DocaFlow.FlowCfgSetModeArgs(cfg, mode), "doca_flow_cfg_set_mode_args");
                ThrowHelper.ThrowIfFailed(Interop.DocaFlow.FlowCfgSetCbEntryProcess(cfg, &OnEntryProcess), "doca_flow_cfg_set_cb_entry_process");
                ThrowHelper.ThrowIfFailed(Interop.DocaFlow.FlowInit(cfg), "doca_flow_init");
            }
            finally
            {
                Interop.DocaFlow.FlowCfgDestroy(cfg);
            }

            var flow = new DocaFlow(new SafeDocaFlowHandle(), sink);
            try
            {
                if (options.ConnectionTrackingEntries != 0)
                    flow.InitializeConnectionTracking(options.ConnectionTrackingEntries);
            }
            catch
            {
                flow._handle.Dispose();
                throw;
            }
            flow._self = GCHandle.Alloc(flow);
            s_active = GCHandle.ToIntPtr(flow._self);
            return flow;
        }
    }

    private void InitializeConnectionTracking(uint entries)
    {
        DocaFlowCtCfg* ct = null;
        ThrowHelper.ThrowIfFailed(Interop.DocaFlow.CtCfgCreate(&ct), "doca_flow_ct_cfg_create");
        try
        {
            ThrowHelper.ThrowIfFailed(Interop.DocaFlow.CtCfgSetNrEntries(ct, entries), "doca_flow_ct_cfg_set_nr_entries");
            ThrowHelper.ThrowIfFailed(Interop.DocaFlow.CtInit(ct), "doca_flow_ct_init");
        }
        finally
        {
            Interop.DocaFlow.CtCfgDestroy(ct);
        }
    }

    /// <summary>Starts port <paramref name="portId"/> (mandatory from DOCA 3.0).</summary>
    public DocaPort StartPort(ushort portId, string devargs = "")
    {
        ArgumentNullException.ThrowIfNull(devargs);
        ObjectDisposedException.ThrowIf(_handle.IsClosed, this);
        DocaFlowPortCfg* cfg = null;
        ThrowHelper.ThrowIfFailed(Interop.DocaFlow.PortCfgCreate(&cfg), "doca_flow_port_cfg_create");
        var handle = new SafeDocaPortHandle();
        try
        {
            ThrowHelper.ThrowIfFailed(Interop.DocaFlow.PortCfgSetPortId(cfg, portId), "doca_flow_port_cfg_set_port_id");
            if (devargs.Length > 0)
            {
                fixed (byte* d = Utf8(devargs))
                    ThrowHelper.ThrowIfFailed(Interop.DocaFlow.PortCfgSetDevargs(cfg, d), "doca_flow_port_cfg_set_devargs");
            }
            DocaFlowPort* port = null;
            ThrowHelper.ThrowIfFailed(Interop.DocaFlow.PortStart(cfg, &port), "doca_flow_port_start");
            handle.Attach(port, _handle);
        }
        catch
        {
            handle.SetHandleAsInvalid();
            throw;
        }
        finally
        {
            Interop.DocaFlow.PortCfgDestroy(cfg);
        }
        return new DocaPort(portId, handle);
    }

    /// <summary>
    /// Delivers up to <paramref name="max"/> completions of <paramref name="queue"/> on
    /// <paramref name="port"/> (0 = all pending) to the sink, on this thread. Returns how many.
    /// </summary>
    public int ProcessCompletions(DocaPort port, ushort queue, uint max = 0)
    {
        ArgumentNullException.ThrowIfNull(port);
        int before = _delivered;
        int status = Interop.DocaFlow.EntriesProcess(port.Handle.Port, queue, 0, max);
        RethrowCallbackFailure();
        ThrowHelper.ThrowIfFailed(status, "doca_flow_entries_process");
        return _delivered - before;
    }

    /// <summary>Delivers Flow CT completions the same way; returns how many DOCA processed.</summary>
    public int ProcessConnectionTrackingCompletions(DocaPort port, ushort queue, uint max = 0)
    {
        ArgumentNullException.ThrowIfNull(port);
        uint processed = 0;
        int status = Interop.DocaFlow.CtEntriesProcess(port.Handle.Port, queue, 0, max, &processed);
        RethrowCallbackFailure();
        ThrowHelper.ThrowIfFailed(status, "doca_flow_ct_entries_process");
        return (int)processed;
    }

    /// <summary>
    /// Reports idle entries as <see cref="DocaEntryOperation.Aged"/> completions (at most
    /// <paramref name="max"/>, 0 = no limit). Returns how many were reported; aged entries are not removed.
    /// </summary>
    public int HandleAging(DocaPort port, ushort queue, ulong max = 0)
    {
        ArgumentNullException.ThrowIfNull(port);
        int before = _delivered;
        Interop.DocaFlow.AgingHandle(port.Handle.Port, queue, quotaMicroseconds: 1000, max);
        RethrowCallbackFailure();
        return _delivered - before;
    }

    /// <summary>Releases DOCA Flow once every port and pipe opened through it is released.</summary>
    public void Dispose()
    {
        lock (s_initLock)
        {
            if (_self.IsAllocated)
            {
                s_active = 0;
                _self.Free();
            }
        }
        _handle.Dispose();
    }

    private void RethrowCallbackFailure()
    {
        ExceptionDispatchInfo? failure = Interlocked.Exchange(ref _callbackFailure, null);
        failure?.Throw();
    }

    // Exceptions must not cross into native code: a sink failure is kept and rethrown on return.
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnEntryProcess(DocaFlowPipeEntry* entry, ushort queue, int status, int op, void* userContext)
    {
        nint self = Volatile.Read(ref s_active);
        if (self == 0 || GCHandle.FromIntPtr(self).Target is not DocaFlow flow)
            return;
        try
        {
            flow._delivered++;
            var completion = new DocaCompletion(new DocaEntry(entry), queue, (DocaEntryStatus)status, (DocaEntryOperation)op, (long)userContext);
            flow._sink.OnCompletion(in completion);
        }
        catch (Exception e)
        {
            flow._callbackFailure ??= ExceptionDispatchInfo.Capture(e);
        }
    }

    private static byte[] Utf8(string s)
    {
        byte[] bytes = new byte[Encoding.UTF8.GetByteCount(s) + 1];
        Encoding.UTF8.GetBytes(s, bytes);
        return bytes;
    }
}
