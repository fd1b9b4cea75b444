namespace Offload.Kernel.Conntrack;

/// <summary>
/// The set of kernel conntrack entries as known from ctnetlink events, kept whole across event loss: when the kernel
/// reports an overflow (ENOBUFS), the mirror reads what was still queued, dumps the table and raises
/// <see cref="ConntrackEventKind.Destroy"/> for every entry that vanished meanwhile and
/// <see cref="ConntrackEventKind.New"/> for every one it missed, so a consumer that follows the raised events never
/// misses a DESTROY. Not thread-safe.
/// </summary>
/// <remarks>
/// Entries are keyed by original tuple and zone; the kernel's entry id tells a recreated connection (same tuple, new
/// entry) from the old one, which is raised as a Destroy of the old followed by a New. The queued events are applied
/// before the dump because they predate it: a NEW queued before the overflow whose DESTROY was lost would otherwise
/// re-create an entry after the dump had shown it gone.
/// </remarks>
public sealed class KernelConntrackMirror
{
    private const int MaxDrainDatagrams = 1 << 16;
    private const int MaxDumpAttempts = 3;
    private readonly Dictionary<(ConntrackTuple Original, ushort Zone), KernelConntrackEntry> _entries = new();

    /// <summary>Entries currently known.</summary>
    public int Count => _entries.Count;

    /// <summary>Resyncs done after an overflow.</summary>
    public long Resyncs { get; private set; }

    /// <summary>The entry with this original tuple in this zone, if known.</summary>
    public bool TryGet(in ConntrackTuple original, ushort zone, out KernelConntrackEntry entry) =>
        _entries.TryGetValue((original, zone), out entry);

    /// <summary>A copy of every known entry.</summary>
    public List<KernelConntrackEntry> Snapshot() => [.. _entries.Values];

    /// <summary>
    /// Applies one kernel event and appends what changed for a consumer to <paramref name="raised"/>: an UPDATE of an
    /// unknown entry is raised as New, a DESTROY of an unknown one is dropped (the consumer never saw it).
    /// </summary>
    public void Apply(in ConntrackEvent kernelEvent, List<ConntrackEvent> raised)
    {
        ArgumentNullException.ThrowIfNull(raised);
        KernelConntrackEntry entry = kernelEvent.Entry;
        var key = (entry.Original, entry.Zone);
        bool known = _entries.TryGetValue(key, out KernelConntrackEntry current);
        if (kernelEvent.Kind == ConntrackEventKind.Destroy)
        {
            // A late DESTROY of an entry already replaced by a newer one with the same tuple is not about the current one.
            if (known && (entry.Id == 0 || current.Id == 0 || entry.Id == current.Id))
            {
                _entries.Remove(key);
                raised.Add(new ConntrackEvent(ConntrackEventKind.Destroy, entry));
            }
            return;
        }
        if (known && entry.Id != 0 && current.Id != 0 && entry.Id != current.Id)
        {
            raised.Add(new ConntrackEvent(ConntrackEventKind.Destroy, current));
            known = false;
        }
        _entries[key] = entry;
        raised.Add(new ConntrackEvent(known ? ConntrackEventKind.Update : ConntrackEventKind.New, entry));
    }

    /// <summary>
    /// Makes the mirror equal to <paramref name="dump"/> (a full table dump): raises Destroy for known entries the
    /// dump lacks (or holds as a different entry), New for dumped entries not known; known entries are refreshed
    /// silently.
    /// </summary>
    public void Resync(IReadOnlyList<KernelConntrackEntry> dump, List<ConntrackEvent> raised)
    {
        ArgumentNullException.ThrowIfNull(dump);
        ArgumentNullException.ThrowIfNull(raised);
        var fresh = new Dictionary<(ConntrackTuple, ushort), KernelConntrackEntry>(dump.Count);
        foreach (KernelConntrackEntry e in dump)
            fresh[(e.Original, e.Zone)] = e;
        var gone = new List<(ConntrackTuple, ushort)>();
        foreach (((ConntrackTuple, ushort) key, KernelConntrackEntry known) in _entries)
        {
            if (!fresh.TryGetValue(key, out KernelConntrackEntry now) || (now.Id != 0 && known.Id != 0 && now.Id != known.Id))
            {
                gone.Add(key);
                raised.Add(new ConntrackEvent(ConntrackEventKind.Destroy, known));
            }
        }
        foreach ((ConntrackTuple, ushort) key in gone)
            _entries.Remove(key);
        foreach (KernelConntrackEntry e in dump)
        {
            var key = (e.Original, e.Zone);
            if (!_entries.ContainsKey(key))
                raised.Add(new ConntrackEvent(ConntrackEventKind.New, e));
            _entries[key] = e;
        }
        Resyncs++;
    }

    /// <summary>
    /// Receives one datagram of events from <paramref name="listener"/> (waiting up to its receive timeout) and applies
    /// it. On an overflow, applies what is still queued (without waiting: the drain ends when the queue is empty, not
    /// when a timeout expires), then dumps the table through <paramref name="client"/> and resyncs. Returns the
    /// listener's status for the first receive.
    /// </summary>
    public ConntrackReceiveStatus Poll(CtnetlinkEventListener listener, CtnetlinkClient client, List<ConntrackEvent> raised)
    {
        ArgumentNullException.ThrowIfNull(listener);
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(raised);
        var events = new List<ConntrackEvent>();
        ConntrackReceiveStatus status = listener.Receive(events);
        ApplyAll(events, raised);
        if (status != ConntrackReceiveStatus.Overflow)
            return status;
        for (int i = 0; i < MaxDrainDatagrams; i++)
        {
            events.Clear();
            ConntrackReceiveStatus next = listener.Receive(events, wait: false);
            ApplyAll(events, raised);
            if (next == ConntrackReceiveStatus.TimedOut)
                break;
        }
        // An interrupted dump may miss entries; retry a few times, then take the last one (the next overflow or
        // event corrects what it got wrong).
        List<KernelConntrackEntry> dump = client.Dump();
        for (int attempt = 1; attempt < MaxDumpAttempts && client.LastDumpInterrupted; attempt++)
            dump = client.Dump();
        Resync(dump, raised);
        return status;
    }

    private void ApplyAll(List<ConntrackEvent> events, List<ConntrackEvent> raised)
    {
        foreach (ConntrackEvent e in events)
            Apply(e, raised);
    }
}
