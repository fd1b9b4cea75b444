using System.Diagnostics;
using Offload.Actions;
using Offload.Datapath;
using Offload.Packets;

namespace Offload.Kernel.Tests.EndToEnd;

/// <summary>
/// The results a switch reported (a pump's second sink), kept for two uses: counting what a test expects the kernel's
/// rules to have seen (how many SYNs of a connection went into the kernel — under load a retransmitted SYN can follow the
/// first one in), and, when a test fails, printing the last of them so a lost packet can be told from a dropped one.
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

    private readonly record struct Entry(long Milliseconds, FrameResult Result, int Length, bool IsSyn);

    public void OnFrame(in FrameResult result, ReadOnlySpan<byte> frame)
    {
        var entry = new Entry(Stopwatch.GetTimestamp() * 1000 / Stopwatch.Frequency, result, frame.Length, IsSyn(frame));
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

    // A TCP SYN without ACK, inside a tunnel when the frame is encapsulated.
    private static bool IsSyn(ReadOnlySpan<byte> frame)
    {
        PacketParser.Parse(frame, out ParsedPacket p);
        if (p.IsValid && p.Tunnel != TunnelKind.None)
        {
            ReadOnlySpan<byte> inner = frame[p.InnerOffset..];
            ushort type = p.InnerEtherType;
            if (type == EtherType.TransparentEthernetBridging)
                PacketParser.Parse(inner, out p);
            else
                PacketParser.ParseL3(inner, type, out p);
        }
        return p.IsValid && p.Protocol == IpProtocol.Tcp && (p.TcpFlags & (TcpFlags.Syn | TcpFlags.Ack)) == TcpFlags.Syn;
    }

    /// <summary>
    /// The SYNs of the TCP connection from <paramref name="client"/> to <paramref name="server"/> (addresses and ports as
    /// the switch saw them) that went into the kernel: <c>Decided</c>, answered by it (slow-path outputs, not the kernel's
    /// own frame sent back), and <c>GaveUp</c>, dropped by the adapter as timed out.
    /// </summary>
    public (int Decided, int GaveUp) SynsThroughKernel(System.Net.IPEndPoint client, System.Net.IPEndPoint server)
    {
        var decided = 0;
        var gaveUp = 0;
        lock (_entries)
        {
            for (long i = Math.Max(0, _next - _entries.Length); i < _next; i++)
            {
                Entry e = _entries[i % _entries.Length];
                FrameResult r = e.Result;
                if (!e.IsSyn || r.Path != PacketPath.Slow || r.IsResponse || r.Key.SrcPort != client.Port || r.Key.DstPort != server.Port
                    || !r.Key.SrcIp.ToIPAddress().Equals(client.Address) || !r.Key.DstIp.ToIPAddress().Equals(server.Address))
                    continue;
                if (r.Verdict == ActionVerdict.Output)
                    decided++;
                else if (r.Reason == DropReason.SlowPathTimeout)
                    gaveUp++;
            }
        }
        return (decided, gaveUp);
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
