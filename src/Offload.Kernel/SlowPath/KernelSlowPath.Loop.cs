using Offload.Datapath;
using Offload.Kernel.Conntrack;
using Offload.Kernel.Nflog;
using Offload.Kernel.Nftables;

namespace Offload.Kernel.SlowPath;

// The adapter's thread: writes requests into the kernel, reads what comes out, answers, expires.
public sealed partial class KernelSlowPath
{
    private const int CloneNewNet = 0x4000_0000;
    private static readonly TimeSpan IdleWait = TimeSpan.FromMilliseconds(100);

    private readonly Dictionary<ConntrackTuple, KernelPendingDecision> _byTuple = new();
    private readonly List<KernelPendingDecision> _related = [];
    private readonly List<NflogRecord> _records = [];
    private readonly byte[] _readBuffer = new byte[65536 + 14];
    private NftablesContext? _nft;

    private void Run()
    {
        // libnftables talks netlink from the calling thread: this thread lives in the topology's namespace.
        if (_topology.Namespace is { } ns && Interop.Sys.SetNs(ns.Handle, CloneNewNet) != 0)
        {
            // Nothing can be written into the kernel from here: every request, now and later, is answered at once.
            _broken = true;
            Interlocked.Increment(ref _errors);
            FailAll(DropReason.SlowPathError);
            return;
        }
        while (!_stopping)
        {
            try
            {
                Iterate();
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Never let one bad frame or netlink hiccup kill the thread; pending requests still time out.
                Interlocked.Increment(ref _errors);
                Thread.Sleep(_options.PollInterval);
            }
        }
        FailAll(DropReason.SlowPathError);
        _nft?.Dispose();
    }

    private void Iterate()
    {
        if (_byTuple.Count == 0 && _related.Count == 0 && _inbox.IsEmpty)
            _wake.Wait(IdleWait);
        _wake.Reset();
        lock (_policyGate)
        {
            // Outputs first: whatever came out before the new requests went in belongs to no one of them.
            DrainDevices();
            DrainNflog();
            Unpin();
            DeleteRevoked();
            InjectQueued();
            Expire();
        }
    }

    private void InjectQueued()
    {
        while (_inbox.TryDequeue(out KernelPendingDecision? pending))
        {
            if (pending.Pin is { } pin)
                PinBackend(pending, pin);
            if (pending.Request.IsRelated)
                _related.Add(pending);
            else if (!_byTuple.TryAdd(pending.Tuple, pending))
            {
                Complete(pending, SlowPathDecision.Drop(DropReason.PendingQueueFull)); // the same tuple is already in the kernel
                continue;
            }
            if (!pending.Device.TryWrite(pending.Injected))
            {
                Forget(pending);
                Interlocked.Increment(ref _errors);
                Complete(pending, SlowPathDecision.Drop(DropReason.SlowPathError));
                continue;
            }
            Interlocked.Increment(ref _injected);
        }
    }

    private void DrainDevices()
    {
        foreach (KernelDevice device in _state.Devices)
        {
            while (device.Tap.TryRead(_readBuffer, out int length))
                OnKernelFrame(device, _readBuffer.AsSpan(0, length));
        }
    }

    private void DrainNflog()
    {
        // The receive waits up to the poll interval when nothing is queued: the loop's pause while work is pending.
        while (true)
        {
            _records.Clear();
            if (_nflog.Receive(_records) != NflogReceiveStatus.Received)
                return;
            foreach (NflogRecord record in _records)
                OnDropLogged(record);
        }
    }

    private void Expire()
    {
        if (_byTuple.Count == 0 && _related.Count == 0)
            return;
        long now = _time.GetTimestamp();
        List<KernelPendingDecision>? expired = null;
        foreach (KernelPendingDecision p in _byTuple.Values)
        {
            if (now >= p.Deadline)
                (expired ??= []).Add(p);
        }
        foreach (KernelPendingDecision p in _related)
        {
            if (now >= p.Deadline)
                (expired ??= []).Add(p);
        }
        if (expired is null)
            return;
        foreach (KernelPendingDecision p in expired)
        {
            Forget(p);
            ReleasePin(p);
            Interlocked.Increment(ref _timedOut);
            Complete(p, SlowPathDecision.Drop(DropReason.SlowPathTimeout));
        }
    }

    private void Forget(KernelPendingDecision pending)
    {
        if (pending.Request.IsRelated)
            _related.Remove(pending);
        else if (_byTuple.TryGetValue(pending.Tuple, out KernelPendingDecision? p) && ReferenceEquals(p, pending))
            _byTuple.Remove(pending.Tuple);
    }

    private void Complete(KernelPendingDecision pending, SlowPathDecision decision)
    {
        Interlocked.Decrement(ref _inFlight);
        pending.Completion.TrySetResult(decision);
    }

    private void FailAll(DropReason reason)
    {
        foreach (KernelPendingDecision p in _byTuple.Values)
            Complete(p, SlowPathDecision.Drop(reason));
        foreach (KernelPendingDecision p in _related)
            Complete(p, SlowPathDecision.Drop(reason));
        _byTuple.Clear();
        _related.Clear();
        while (_inbox.TryDequeue(out KernelPendingDecision? p))
            Complete(p, SlowPathDecision.Drop(reason));
    }

    private NftablesContext Nft => _nft ??= NftablesContext.Create(json: true);
}
