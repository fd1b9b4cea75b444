using Offload.Backends;
using Offload.Flows;

namespace Offload.Doca.Backends;

/// <summary>Arguments of <see cref="DocaBackend.PortHealthChanged"/>.</summary>
/// <param name="Port">The ingress port (the switch's port number).</param>
/// <param name="Failed">True when it failed, false when it answers again.</param>
/// <param name="Reason">What DOCA said, or that it answers again.</param>
public readonly record struct DocaPortHealthChangedEventArgs(ushort Port, bool Failed, string Reason);

// One ingress port of the device failing while the others work: only that port's entries are lost, and only its
// flows need to go elsewhere. The whole device fails instead when Flow CT is configured (the CT pipe serves every
// port) or when no port is left working.
public sealed partial class DocaBackend
{
    private bool[] _portFailed = [];
    private int _failedPorts;

    /// <summary>
    /// Raised when one ingress port fails (its entries are lost; <see cref="FlowBackend.Health"/> is
    /// <see cref="BackendHealth.Degraded"/>) or answers again (with empty tables), while the rest of the device keeps
    /// working. Raised on the polling thread, under the backend's lock.
    /// </summary>
    public event EventHandler<DocaPortHealthChangedEventArgs>? PortHealthChanged;

    /// <summary>True while ingress port <paramref name="port"/> has failed on its own (a whole-device failure is
    /// <see cref="BackendHealth.Failed"/> instead).</summary>
    public bool IsPortFailed(ushort port)
    {
        lock (_gate)
        {
            var ports = _options.Ports;
            for (int i = 0; i < ports.Count; i++)
            {
                if (ports[i].Port == port)
                    return _portFailed.Length > i && _portFailed[i];
            }
            return false;
        }
    }

    private void EnterPortFailed(int p, DocaError rc, string reason)
    {
        if (_portFailed[p] || Health == BackendHealth.Failed)
            return;
        if (_ctPipe is not null || _failedPorts + 1 >= _ports.Length)
        {
            EnterFailed(rc, reason);
            return;
        }
        ushort port = _options.Ports[p].Port;
        string why = $"doca port {port} failed: {reason}";
        var lost = new HashSet<int>();
        for (ushort q = 0; q < _options.Queues; q++)
        {
            int f = p * _options.Queues + q;
            while (_fifos[f].TryDequeue(out PendingOp op))
            {
                lost.Add(op.Slot);
                if (op.Internal)
                    continue;
                _ready.Enqueue(new FlowCompletion
                {
                    Kind = op.Kind, Key = _slots[op.Slot].Key, Cookie = op.Cookie, Status = FlowCompletionStatus.Failed,
                    ErrorCode = (int)rc, Detail = "device port failed before the operation completed: " + why,
                });
            }
            _staged[f] = 0;
        }
        foreach (int slot in _deferredReleases)
        {
            if (_slots[slot].Port == p)
                lost.Add(slot);
        }
        foreach (int slot in _slotOf.Values)
        {
            if (_slots[slot].Port == p)
                lost.Add(slot);
        }
        // The port lost these entries with it: their handles must never be used again.
        _deferredReleases.RemoveAll(slot => _slots[slot].Port == p);
        foreach (int slot in lost)
        {
            ref Slot s = ref _slots[slot];
            if (_slotOf.TryGetValue(s.Key, out int held) && held == slot)
                _slotOf.Remove(s.Key);
            if (s.Installed)
                _installed--;
            _reserved--;
            FreeSlot(slot);
        }
        _portFailed[p] = true;
        _failedPorts++;
        PortHealthChanged?.Invoke(this, new DocaPortHealthChangedEventArgs(port, Failed: true, why));
        SetHealth(BackendHealth.Degraded, why);
    }

    // A failed port is asked again at every poll; once it answers it starts over with its (empty) pipe.
    private void ProbePort(int p)
    {
        try
        {
            _drainingPort = p;
            for (ushort q = 0; q < _options.Queues; q++)
                _flow.ProcessCompletions(_ports[p], q);
        }
        catch (DocaException e) when (e.Error.IsDeviceFatal())
        {
            return;
        }
        _portFailed[p] = false;
        _failedPorts--;
        ushort port = _options.Ports[p].Port;
        PortHealthChanged?.Invoke(this, new DocaPortHealthChangedEventArgs(port, Failed: false, $"doca port {port} answers again"));
        if (_failedPorts == 0 && Health == BackendHealth.Degraded)
            SetHealth(BackendHealth.Healthy, $"doca port {port} answers again");
    }

    private SubmitStatus PortFailedAnswer(in FlowOperation op, int p) =>
        Answer(op, FlowCompletionStatus.Failed, $"doca port {_options.Ports[p].Port} has failed; the flow cannot go on the device until it answers again",
            (int)DocaError.DeviceFatalError, transient: true);
}
