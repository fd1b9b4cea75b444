using System.Diagnostics;
using Offload.Datapath;

namespace Offload.Kernel.Tests.EndToEnd;

/// <summary>
/// The results a switch reported (a pump's second sink), kept for two uses: counting what a test expects the kernel's
/// rules to have seen (how many SYNs of a connection the slow path handled — a SYN retransmitted under load meets the
/// filter rules again), and, when a test fails, printing the last of them so a lost packet can be told from a dropped one.
/// </summary>
internal sealed class FrameTrace : IFrameSink
{
    private readonly Entry[] _entries;
    private readonly string _host;
    private long _next;

    public FrameTrace(string host, int capacity = 4096)
    {
        _host = host;
        _entries = new Entry[capacity];
    }

    private readonly record struct Entry(long Milliseconds, FrameResult Result, int Length);

    public void OnFrame(in FrameResult result, ReadOnlySpan<byte> frame)
    {
        var entry = new Entry(Stopwatch.GetTimestamp() * 1000 / Stopwatch.Frequency, result, frame.Length);
        lock (_entries)
            _entries[_next++ % _entries.Length] = entry;
    }

    /// <summary>The results kept (the most recent <c>capacity</c>) that <paramref name="match"/> accepts.</summary>
    public List<FrameResult> Where(Func<FrameResult, bool> match)
    {
        var found = new List<FrameResult>();
        lock (_entries)
        {
            for (long i = Math.Max(0, _next - _entries.Length); i < _next; i++)
            {
                if (match(_entries[i % _entries.Length].Result))
                    found.Add(_entries[i % _entries.Length].Result);
            }
        }
        return found;
    }

    /// <summary>
    /// The SYNs of the TCP connection from <paramref name="client"/> to <paramref name="server"/> (addresses and ports as
    /// the switch saw them) that went into the kernel: <c>Decided</c>, answered by it (slow-path results in SYN_SENT, not
    /// the kernel's own frame sent back), and <c>GaveUp</c>, dropped by the adapter as timed out — those met the kernel's
    /// rules or not, depending on whether the kernel got to them before the adapter stopped waiting.
    /// </summary>
    public (int Decided, int GaveUp) SynsThroughKernel(System.Net.IPEndPoint client, System.Net.IPEndPoint server)
    {
        bool Of(FrameResult r) => r.Path == PacketPath.Slow && !r.IsResponse && r.Key.Protocol == Packets.IpProtocol.Tcp
            && r.Key.SrcPort == client.Port && r.Key.DstPort == server.Port
            && r.Key.SrcIp.ToIPAddress().Equals(client.Address) && r.Key.DstIp.ToIPAddress().Equals(server.Address);
        return (Where(r => Of(r) && r.Verdict == Actions.ActionVerdict.Output && r.State == Offload.Conntrack.ConnState.SynSent).Count,
            Where(r => Of(r) && r.Reason == DropReason.SlowPathTimeout).Count);
    }

    public override string ToString()
    {
        var text = new System.Text.StringBuilder();
        lock (_entries)
        {
            for (long i = Math.Max(0, _next - 200); i < _next; i++)
            {
                Entry e = _entries[i % _entries.Length];
                FrameResult r = e.Result;
                text.Append($"{e.Milliseconds,10}ms {_host} in={r.InPort} {r.Key} {r.Path} {r.Verdict} out={r.OutPort} ")
                    .Append(r.Reason == DropReason.None ? "" : r.Reason.Name()).Append($" {r.State} len={e.Length}")
                    .AppendLine(r.IsResponse ? " response" : "");
            }
        }
        return text.ToString();
    }
}
