using Offload.Kernel.Netlink;
using Offload.Packets;

namespace Offload.Kernel.Conntrack;

/// <summary>
/// The kernel's conntrack table through ctnetlink (NETLINK_NETFILTER), in the network namespace of the thread that
/// called <see cref="Open"/>. Control plane: failures throw <see cref="NetlinkException"/> with the errno. Not thread-safe.
/// </summary>
public sealed class CtnetlinkClient : IDisposable
{
    private readonly NetlinkSocket _socket;
    private readonly NetlinkMessageBuilder _builder = new();

    private CtnetlinkClient(NetlinkSocket socket) => _socket = socket;

    /// <summary>Entries of the last dump that could not be decoded (skipped, not fatal).</summary>
    public long MalformedEntries { get; private set; }

    /// <summary>The last reason an entry could not be decoded.</summary>
    public NetlinkParseError LastMalformedReason { get; private set; }

    /// <summary>Whether the kernel flagged the last dump as interrupted by concurrent changes.</summary>
    public bool LastDumpInterrupted => _socket.LastDumpInterrupted;

    /// <summary>Opens a ctnetlink socket in the calling thread's network namespace.</summary>
    public static CtnetlinkClient Open(TimeSpan? receiveTimeout = null) =>
        new(NetlinkSocket.Open(NetlinkConstants.ProtocolNetfilter, receiveTimeout));

    /// <summary>Every entry of the conntrack table (IPv4 and IPv6).</summary>
    public List<KernelConntrackEntry> Dump()
    {
        uint seq = _socket.NextSequence();
        _builder.Reset();
        _builder.BeginMessage(CtnetlinkConstants.MessageType(CtnetlinkConstants.MsgGet),
            NetlinkConstants.FlagRequest | NetlinkConstants.FlagDump, seq);
        _builder.AddNetfilterHeader(CtnetlinkConstants.FamilyUnspec);
        _builder.EndMessage();
        var entries = new List<KernelConntrackEntry>();
        MalformedEntries = 0;
        LastMalformedReason = NetlinkParseError.None;
        _socket.Dump(_builder.Written, seq, "conntrack dump", (Client: this, Entries: entries), static (s, message) =>
        {
            if (message.Type != CtnetlinkConstants.MessageType(CtnetlinkConstants.MsgNew))
                return;
            NetlinkParseError error = CtnetlinkParser.TryParseEntry(message.Payload, out KernelConntrackEntry entry);
            if (error == NetlinkParseError.None)
            {
                s.Entries.Add(entry);
            }
            else
            {
                s.Client.MalformedEntries++;
                s.Client.LastMalformedReason = error;
            }
        });
        return entries;
    }

    /// <summary>Deletes the entry whose original tuple is <paramref name="original"/>; ENOENT if there is none.</summary>
    public void Delete(in ConntrackTuple original, ushort zone = 0)
    {
        uint seq = BeginRequest(CtnetlinkConstants.MsgDelete, NetlinkConstants.FlagRequest | NetlinkConstants.FlagAck, original, zone);
        _builder.EndMessage();
        _socket.Request(_builder.Written, seq, "conntrack delete");
    }

    /// <summary>
    /// Sets the remaining lifetime of the entry whose original tuple is <paramref name="original"/> (how the fast path
    /// keeps the kernel entry alive while it carries the traffic); ENOENT if there is none.
    /// </summary>
    public void SetTimeout(in ConntrackTuple original, uint seconds, ushort zone = 0)
    {
        // NEW without CREATE/EXCL updates an existing entry and never creates one.
        uint seq = BeginRequest(CtnetlinkConstants.MsgNew, NetlinkConstants.FlagRequest | NetlinkConstants.FlagAck, original, zone);
        _builder.AddUInt32BigEndian(CtnetlinkConstants.Timeout, seconds);
        _builder.EndMessage();
        _socket.Request(_builder.Written, seq, "conntrack set timeout");
    }

    /// <summary>
    /// The entry one of whose directions is <paramref name="tuple"/> — how to find the entry of a packet the kernel
    /// emitted after NAT: the emitted packet's tuple inverted is the entry's reply tuple. Null when the kernel has none
    /// (ENOENT).
    /// </summary>
    /// <param name="tuple">The tuple to look up.</param>
    /// <param name="isReplyTuple">Send the tuple as CTA_TUPLE_REPLY rather than CTA_TUPLE_ORIG. The kernel's lookup is
    /// one hash lookup over both directions either way, so an entry is found whichever direction the tuple is; compare
    /// it with the entry's <see cref="KernelConntrackEntry.Reply"/> to know which one matched.</param>
    /// <param name="zone">The conntrack zone (0 = default); an entry in another zone is not found.</param>
    public KernelConntrackEntry? TryGet(in ConntrackTuple tuple, bool isReplyTuple, ushort zone = 0)
    {
        uint seq = BeginRequest(CtnetlinkConstants.MsgGet, NetlinkConstants.FlagRequest | NetlinkConstants.FlagAck, tuple, zone,
            isReplyTuple ? CtnetlinkConstants.TupleReply : CtnetlinkConstants.TupleOrig);
        _builder.EndMessage();
        _socket.Send(_builder.Written);
        // The entry comes back as one IPCTNL_MSG_CT_NEW, then the acknowledgement asked for ends the exchange; an
        // error (ENOENT: no such entry) comes instead of both.
        KernelConntrackEntry? found = null;
        while (true)
        {
            var reader = new NetlinkMessageReader(_socket.ReceiveFromKernel());
            while (reader.TryRead(out NetlinkMessage message))
            {
                // Replies to an earlier request that timed out may still arrive; they are not ours.
                if (message.Sequence != seq)
                    continue;
                if (message.Type == NetlinkConstants.MsgError)
                {
                    if (!NetlinkMessageReader.TryReadError(message.Payload, out int errno))
                        throw new NetlinkException("conntrack get", NetlinkParseError.TruncatedHeader);
                    if (errno == Interop.Sys.Errno.ENOENT)
                        return null;
                    if (errno != 0)
                        throw new NetlinkException("conntrack get", errno);
                    return found ?? throw new NetlinkException("conntrack get", NetlinkParseError.MissingAttribute);
                }
                if (message.Type != CtnetlinkConstants.MessageType(CtnetlinkConstants.MsgNew))
                    continue;
                NetlinkParseError error = CtnetlinkParser.TryParseEntry(message.Payload, out KernelConntrackEntry entry);
                if (error != NetlinkParseError.None)
                    throw new NetlinkException("conntrack get", error);
                found = entry;
            }
            if (reader.Error != NetlinkParseError.None)
                throw new NetlinkException("conntrack get", reader.Error);
        }
    }

    private uint BeginRequest(byte msg, ushort flags, in ConntrackTuple tuple, ushort zone, ushort tupleAttribute = CtnetlinkConstants.TupleOrig)
    {
        if (tuple.Source.IsV4 != tuple.Destination.IsV4)
            throw new ArgumentException("Source and destination must be the same address family.", nameof(tuple));
        uint seq = _socket.NextSequence();
        _builder.Reset();
        _builder.BeginMessage(CtnetlinkConstants.MessageType(msg), flags, seq);
        _builder.AddNetfilterHeader(tuple.IsV4 ? CtnetlinkConstants.FamilyInet : CtnetlinkConstants.FamilyInet6);
        CtnetlinkTupleWriter.Write(_builder, tupleAttribute, tuple);
        if (zone != 0)
            _builder.AddUInt16BigEndian(CtnetlinkConstants.Zone, zone);
        return seq;
    }

    /// <inheritdoc />
    public void Dispose() => _socket.Dispose();
}
