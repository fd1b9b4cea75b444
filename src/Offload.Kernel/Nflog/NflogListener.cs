using System.Buffers.Binary;
using Offload.Kernel.Netlink;

namespace Offload.Kernel.Nflog;

/// <summary>
/// Receives the packets the kernel logs to one NFLOG group (nfnetlink_log), in the network namespace of the thread
/// that called <see cref="Open"/>: how the kernel slow path learns that, and by which rule, a first packet was dropped.
/// Malformed messages are counted and skipped, never thrown. Not thread-safe.
/// </summary>
/// <remarks>
/// No PF_BIND is sent: it only chooses the namespace's default logger for rules that log without a group, while a
/// <c>log group</c> rule reaches nfnetlink_log directly. The kernel unbinds the group when the socket closes, so
/// <see cref="Dispose"/> needs no UNBIND.
/// </remarks>
public sealed class NflogListener : IDisposable
{
    private readonly NetlinkSocket _socket;

    private NflogListener(NetlinkSocket socket, ushort group, bool includesConntrack)
    {
        _socket = socket;
        Group = group;
        IncludesConntrack = includesConntrack;
    }

    /// <summary>The group this listener is bound to.</summary>
    public ushort Group { get; }

    /// <summary>
    /// Whether records carry their packet's conntrack entry: asked for, and the kernel supports it (it needs
    /// CONFIG_NETFILTER_NETLINK_GLUE_CT); otherwise look the entry up with <see cref="Conntrack.CtnetlinkClient.TryGet"/>.
    /// </summary>
    public bool IncludesConntrack { get; }

    /// <summary>Messages that could not be decoded (skipped).</summary>
    public long MalformedMessages { get; private set; }

    /// <summary>Why the last malformed message could not be decoded.</summary>
    public NetlinkParseError LastMalformedReason { get; private set; }

    /// <summary>Times the kernel reported lost log messages.</summary>
    public long Overflows { get; private set; }

    /// <summary>Datagrams dropped because they did not come from the kernel.</summary>
    public long RejectedNotFromKernel => _socket.RejectedNotFromKernel;

    /// <summary>Binds a new socket to NFLOG group <paramref name="group"/>.</summary>
    /// <param name="group">The group the rules log to (<see cref="Nftables.KernelTopology.LogGroup"/>).</param>
    /// <param name="receiveTimeout">How long <see cref="Receive"/> waits.</param>
    /// <param name="copyRange">Bytes of each packet to copy: enough for its IP and L4 headers; a longer packet is cut.</param>
    /// <param name="includeConntrack">Ask for each packet's conntrack entry (NFULA_CT), if the kernel can attach it (see <see cref="IncludesConntrack"/>).</param>
    /// <param name="socketBufferBytes">SO_RCVBUF; 0 keeps the system default.</param>
    /// <exception cref="NetlinkException">The kernel refused (e.g. EBUSY: another socket holds the group).</exception>
    public static NflogListener Open(ushort group, TimeSpan receiveTimeout, int copyRange = 256, bool includeConntrack = false, int socketBufferBytes = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(copyRange, 40);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(copyRange, 0xFFFF);
        // One datagram may batch several records; size the buffer so a full-size copy plus metadata always fits.
        NetlinkSocket socket = NetlinkSocket.Open(NetlinkConstants.ProtocolNetfilter, receiveTimeout, Math.Max(64 * 1024, copyRange + 8192));
        try
        {
            if (socketBufferBytes > 0)
                socket.SetReceiveBufferSize(socketBufferBytes);
            var builder = new NetlinkMessageBuilder();
            uint seq = BeginConfig(builder, socket, group);
            builder.AddByte(NflogConstants.ConfigCommand, NflogConstants.CommandBind);
            builder.EndMessage();
            socket.Request(builder.Written, seq, $"nflog bind group {group}");

            seq = BeginConfig(builder, socket, group);
            Span<byte> mode = stackalloc byte[NflogConstants.ConfigModeSize];
            BinaryPrimitives.WriteUInt32BigEndian(mode, (uint)copyRange);
            mode[4] = NflogConstants.CopyPacket;
            mode[5] = 0;
            builder.AddAttribute(NflogConstants.ConfigMode, mode);
            // The default threshold holds records back until 100 are queued or a second has passed; the slow path
            // waits on each one, so every record is sent at once.
            builder.AddUInt32BigEndian(NflogConstants.ConfigQueueThreshold, 1);
            builder.EndMessage();
            socket.Request(builder.Written, seq, $"nflog configure group {group}");

            bool conntrack = false;
            if (includeConntrack)
            {
                seq = BeginConfig(builder, socket, group);
                builder.AddUInt16BigEndian(NflogConstants.ConfigFlags, NflogConstants.FlagConntrack);
                builder.EndMessage();
                try
                {
                    socket.Request(builder.Written, seq, $"nflog conntrack for group {group}");
                    conntrack = true;
                }
                catch (NetlinkException e) when (e.Errno == NflogConstants.EOPNOTSUPP)
                {
                    // A kernel built without CONFIG_NETFILTER_NETLINK_GLUE_CT cannot attach the entry; the caller
                    // sees that in IncludesConntrack and asks ctnetlink instead.
                }
            }
            return new NflogListener(socket, group, conntrack);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static uint BeginConfig(NetlinkMessageBuilder builder, NetlinkSocket socket, ushort group)
    {
        uint seq = socket.NextSequence();
        builder.Reset();
        builder.BeginMessage(NflogConstants.MessageType(NflogConstants.MsgConfig), NetlinkConstants.FlagRequest | NetlinkConstants.FlagAck, seq);
        builder.AddNetfilterHeader(0, group);
        return seq;
    }

    /// <summary>
    /// Waits for one datagram and appends its records to <paramref name="records"/>. Control-plane failures other
    /// than timeout and overflow throw <see cref="NetlinkException"/>.
    /// </summary>
    public NflogReceiveStatus Receive(List<NflogRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        int errno = _socket.TryReceiveFromKernel(out ReadOnlySpan<byte> datagram);
        if (errno == Interop.Sys.Errno.EAGAIN)
            return NflogReceiveStatus.TimedOut;
        if (errno == Interop.Sys.Errno.ENOBUFS)
        {
            Overflows++;
            return NflogReceiveStatus.Overflow;
        }
        if (errno != 0)
            throw new NetlinkException("nflog receive", errno);
        int malformed = Decode(datagram, records, out NetlinkParseError last);
        if (malformed > 0)
        {
            MalformedMessages += malformed;
            LastMalformedReason = last;
        }
        return NflogReceiveStatus.Received;
    }

    /// <summary>
    /// Decodes one received datagram into <paramref name="records"/>; returns how many messages could not be decoded
    /// (a broken message header ends the datagram and counts as one) and the last reason.
    /// </summary>
    internal static int Decode(ReadOnlySpan<byte> datagram, List<NflogRecord> records, out NetlinkParseError lastError)
    {
        int malformed = 0;
        lastError = NetlinkParseError.None;
        var reader = new NetlinkMessageReader(datagram);
        while (reader.TryRead(out NetlinkMessage message))
        {
            // NLMSG_DONE closes a batch of records; config replies do not come here.
            if (message.Type != NflogConstants.MessageType(NflogConstants.MsgPacket))
                continue;
            NetlinkParseError error = NflogParser.TryParse(message.Payload, out NflogRecord record);
            if (error == NetlinkParseError.None)
            {
                records.Add(record);
                continue;
            }
            malformed++;
            lastError = error;
        }
        if (reader.Error != NetlinkParseError.None)
        {
            malformed++;
            lastError = reader.Error;
        }
        return malformed;
    }

    /// <inheritdoc />
    public void Dispose() => _socket.Dispose();
}
