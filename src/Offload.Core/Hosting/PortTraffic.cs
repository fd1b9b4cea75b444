namespace Offload.Hosting;

// Frames and bytes per port, in and out, indexed by port number. Written only under the runtime's lock (frames in
// from Process, frames out from the sink, which the datapath calls under that lock too) and read under it.
internal sealed class PortTraffic
{
    private Counters[] _ports = new Counters[16];

    public void CountIn(ushort port, int bytes)
    {
        ref Counters c = ref At(port);
        c.InFrames++;
        c.InBytes += bytes;
    }

    public void CountOut(ushort port, int bytes)
    {
        ref Counters c = ref At(port);
        c.OutFrames++;
        c.OutBytes += bytes;
    }

    // Ports with any traffic, named by the callback; nameless numbers (unknown ports) keep their number as name.
    public List<OffloadPortCounters> Snapshot(Func<ushort, string?> nameOf)
    {
        var list = new List<OffloadPortCounters>();
        for (int i = 1; i < _ports.Length; i++)
        {
            ref Counters c = ref _ports[i];
            if (c.InFrames == 0 && c.OutFrames == 0)
                continue;
            ushort port = (ushort)i;
            list.Add(new OffloadPortCounters(port, nameOf(port) ?? port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                c.InFrames, c.InBytes, c.OutFrames, c.OutBytes));
        }
        return list;
    }

    private ref Counters At(ushort port)
    {
        if (port >= _ports.Length)
            Grow(port);
        return ref _ports[port];
    }

    // Once per new highest port number; the packet path otherwise never allocates here.
    private void Grow(ushort port)
    {
        int size = _ports.Length;
        while (size <= port)
            size *= 2;
        Array.Resize(ref _ports, Math.Min(size, ushort.MaxValue + 1));
    }

    private struct Counters
    {
        public long InFrames;
        public long InBytes;
        public long OutFrames;
        public long OutBytes;
    }
}
