using System.Buffers.Binary;
using Offload.Kernel.Namespaces;
using Offload.Kernel.Netlink;
using Offload.Packets;
using static Offload.Kernel.Rtnetlink.RtnetlinkConstants;

namespace Offload.Kernel.Rtnetlink;

/// <summary>
/// Our own NETLINK_ROUTE client for the links, addresses, routes and neighbours of one network namespace (the one given
/// to <see cref="Open"/>, or the caller's). Every failure is a <see cref="NetlinkException"/> naming the operation and
/// carrying the kernel's errno. Control plane: not thread-safe, allocates.
/// </summary>
public sealed class RtnetlinkClient : IDisposable
{
    private readonly NetlinkSocket _socket;
    private readonly NetlinkMessageBuilder _builder = new(256);

    private RtnetlinkClient(NetlinkSocket socket, NetworkNamespace? ns)
    {
        _socket = socket;
        Namespace = ns;
    }

    /// <summary>The namespace the client works in; null for the namespace of the thread that opened it.</summary>
    public NetworkNamespace? Namespace { get; }

    /// <summary>Opens a client bound to <paramref name="ns"/> (default: the calling thread's namespace).</summary>
    public static RtnetlinkClient Open(NetworkNamespace? ns = null, TimeSpan? timeout = null)
    {
        NetlinkSocket socket = NetworkNamespace.RunIn(ns, () => NetlinkSocket.Open(ProtocolRoute, timeout));
        return new RtnetlinkClient(socket, ns);
    }

    /// <summary>Every link of the namespace.</summary>
    public IReadOnlyList<LinkInfo> ListLinks()
    {
        uint seq = Begin(GetLink, NetlinkConstants.FlagRequest | NetlinkConstants.FlagDump);
        _builder.AddInfoHeader(0);
        _builder.EndMessage();
        var links = new List<LinkInfo>();
        _socket.Dump(_builder.Written, seq, "list links", links, static (list, message) =>
        {
            if (message.Type == NewLink && RtnetlinkParser.TryParseLink(message.Payload, out LinkInfo? link))
                list.Add(link!);
        });
        return links;
    }

    /// <summary>The link called <paramref name="name"/>, or null.</summary>
    public LinkInfo? FindLink(string name)
    {
        foreach (LinkInfo link in ListLinks())
        {
            if (link.Name == name)
                return link;
        }
        return null;
    }

    /// <summary>The index of the link called <paramref name="name"/>; ENODEV if there is none.</summary>
    public int GetIndex(string name) =>
        FindLink(name)?.Index ?? throw new NetlinkException($"find link {name}", ENODEV);

    /// <summary>
    /// Creates a veth pair; the peer is created directly in <paramref name="peerNamespace"/> when given. Returns the
    /// index of <paramref name="name"/>.
    /// </summary>
    public int CreateVeth(string name, string peerName, NetworkNamespace? peerNamespace = null)
    {
        ValidateName(name);
        ValidateName(peerName);
        uint seq = BeginCreate(name);
        _builder.BeginNested(IflaLinkInfo);
        _builder.AddString(InfoKind, "veth");
        _builder.BeginNested(InfoData);
        _builder.BeginNested(VethInfoPeer);
        _builder.AddInfoHeader(0);
        _builder.AddString(IflaIfName, peerName);
        bool added = false;
        try
        {
            if (peerNamespace is not null)
            {
                peerNamespace.Handle.DangerousAddRef(ref added);
                _builder.AddUInt32(IflaNetNsFd, (uint)peerNamespace.Handle.DangerousGetHandle());
            }
            _builder.EndNested();
            _builder.EndNested();
            _builder.EndNested();
            _builder.EndMessage();
            _socket.Request(_builder.Written, seq, $"create veth {name}/{peerName}");
        }
        finally
        {
            if (added)
                peerNamespace!.Handle.DangerousRelease();
        }
        return GetIndex(name);
    }

    /// <summary>Creates a bridge; returns its index.</summary>
    public int CreateBridge(string name)
    {
        ValidateName(name);
        uint seq = BeginCreate(name);
        _builder.BeginNested(IflaLinkInfo);
        _builder.AddString(InfoKind, "bridge");
        _builder.EndNested();
        _builder.EndMessage();
        _socket.Request(_builder.Written, seq, $"create bridge {name}");
        return GetIndex(name);
    }

    /// <summary>Creates a VXLAN device; returns its index.</summary>
    public int CreateVxlan(string name, VxlanOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ValidateName(name);
        if (options.Vni > 0xFF_FFFF)
            throw new ArgumentOutOfRangeException(nameof(options), "A VNI has 24 bits.");
        uint seq = BeginCreate(name);
        _builder.BeginNested(IflaLinkInfo);
        _builder.AddString(InfoKind, "vxlan");
        _builder.BeginNested(InfoData);
        _builder.AddUInt32(VxlanId, options.Vni);
        if (!options.Remote.IsNone)
            _builder.AddAddress(options.Remote.IsV4 ? VxlanGroup : VxlanGroup6, options.Remote);
        if (!options.Local.IsNone)
            _builder.AddAddress(options.Local.IsV4 ? VxlanLocal : VxlanLocal6, options.Local);
        if (options.UnderlayIndex != 0)
            _builder.AddUInt32(VxlanLink, (uint)options.UnderlayIndex);
        _builder.AddUInt16BigEndian(VxlanPort, options.Port);
        _builder.AddByte(VxlanLearning, options.Learning ? (byte)1 : (byte)0);
        _builder.EndNested();
        _builder.EndNested();
        _builder.EndMessage();
        _socket.Request(_builder.Written, seq, $"create vxlan {name} vni {options.Vni}");
        return GetIndex(name);
    }

    /// <summary>Sets a link administratively up or down.</summary>
    public void SetUp(int index, bool up = true)
    {
        uint seq = BeginSet(index, up ? InterfaceUp : 0, InterfaceUp);
        End(seq, $"set link {index} {(up ? "up" : "down")}");
    }

    /// <summary>Sets a link's MTU.</summary>
    public void SetMtu(int index, int mtu)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(mtu);
        uint seq = BeginSet(index);
        _builder.AddUInt32(IflaMtu, (uint)mtu);
        End(seq, $"set link {index} mtu {mtu}");
    }

    /// <summary>Sets a link's hardware address.</summary>
    public void SetMac(int index, MacAddress mac)
    {
        uint seq = BeginSet(index);
        _builder.AddMac(IflaAddress, mac);
        End(seq, $"set link {index} address {mac}");
    }

    /// <summary>Enslaves a link to a master (a bridge); 0 releases it.</summary>
    public void SetMaster(int index, int masterIndex)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(masterIndex);
        uint seq = BeginSet(index);
        _builder.AddUInt32(IflaMaster, (uint)masterIndex);
        End(seq, masterIndex == 0 ? $"set link {index} nomaster" : $"set link {index} master {masterIndex}");
    }

    /// <summary>Sets a link's ifalias (the ownership mark, see <c>Devices.OwnedLinks</c>); an empty string clears it.</summary>
    public void SetAlias(int index, string alias)
    {
        ArgumentNullException.ThrowIfNull(alias);
        uint seq = BeginSet(index);
        _builder.AddString(IflaIfAlias, alias);
        End(seq, $"set link {index} alias");
    }

    /// <summary>Moves a link into another namespace (its index there may differ).</summary>
    public void MoveToNamespace(int index, NetworkNamespace target)
    {
        ArgumentNullException.ThrowIfNull(target);
        bool added = false;
        try
        {
            target.Handle.DangerousAddRef(ref added);
            uint seq = BeginSet(index);
            _builder.AddUInt32(IflaNetNsFd, (uint)target.Handle.DangerousGetHandle());
            End(seq, $"move link {index} to namespace {target}");
        }
        finally
        {
            if (added)
                target.Handle.DangerousRelease();
        }
    }

    /// <summary>Deletes a link (for a veth, both ends).</summary>
    public void DeleteLink(int index)
    {
        uint seq = Begin(DelLink, NetlinkConstants.FlagRequest | NetlinkConstants.FlagAck);
        _builder.AddInfoHeader(index);
        End(seq, $"delete link {index}");
    }

    /// <summary>Adds an address to a link (IPv6 addresses skip duplicate address detection so they are usable at once).</summary>
    public void AddAddress(int index, NetAddress address, int prefixLength) =>
        ChangeAddress(NewAddress, NetlinkConstants.FlagCreate | NetlinkConstants.FlagExclusive, index, address, prefixLength, "add");

    /// <summary>Removes an address from a link.</summary>
    public void DeleteAddress(int index, NetAddress address, int prefixLength) =>
        ChangeAddress(DelAddress, 0, index, address, prefixLength, "delete");

    /// <summary>
    /// Adds a route in the main table: <paramref name="destination"/>/<paramref name="prefixLength"/> out of
    /// <paramref name="outputIndex"/>, through <paramref name="gateway"/> when it is not <see cref="NetAddress.None"/>
    /// (otherwise the destination is on-link, e.g. a /32 host route to a VM behind a TAP).
    /// </summary>
    public void AddRoute(NetAddress destination, int prefixLength, int outputIndex, NetAddress gateway = default, uint metric = 0) =>
        ChangeRoute(NewRoute, NetlinkConstants.FlagCreate | NetlinkConstants.FlagExclusive, destination, prefixLength, outputIndex, gateway, metric, "add");

    /// <summary>Deletes a route added by <see cref="AddRoute"/>.</summary>
    public void DeleteRoute(NetAddress destination, int prefixLength, int outputIndex, NetAddress gateway = default, uint metric = 0) =>
        ChangeRoute(DelRoute, 0, destination, prefixLength, outputIndex, gateway, metric, "delete");

    /// <summary>Adds (or replaces) a permanent neighbour entry: <paramref name="address"/> is at <paramref name="mac"/> on the link.</summary>
    public void AddNeighbour(int index, NetAddress address, MacAddress mac) =>
        ChangeNeighbour(NewNeighbour, NetlinkConstants.FlagCreate | NetlinkConstants.FlagReplace, index, address, mac, "add");

    /// <summary>Deletes a neighbour entry.</summary>
    public void DeleteNeighbour(int index, NetAddress address) =>
        ChangeNeighbour(DelNeighbour, 0, index, address, null, "delete");

    /// <inheritdoc />
    public void Dispose() => _socket.Dispose();

    private void ChangeAddress(ushort type, ushort flags, int index, NetAddress address, int prefixLength, string verb)
    {
        CheckPrefix(address, prefixLength);
        uint seq = Begin(type, (ushort)(NetlinkConstants.FlagRequest | NetlinkConstants.FlagAck | flags));
        Span<byte> h = stackalloc byte[AddressHeaderSize];
        h.Clear();
        h[0] = RtnetlinkWriter.FamilyOf(address);
        h[1] = (byte)prefixLength;
        h[2] = address.IsV4 ? (byte)0 : IfaFlagNoDad;
        BinaryPrimitives.WriteInt32LittleEndian(h[4..], index);
        _builder.AddFamilyHeader(h);
        // IPv4 wants both: IFA_LOCAL is the interface's address, IFA_ADDRESS the peer (the same on broadcast links).
        _builder.AddAddress(IfaLocal, address);
        _builder.AddAddress(IfaAddress, address);
        End(seq, $"{verb} address {address}/{prefixLength} on link {index}");
    }

    private void ChangeRoute(ushort type, ushort flags, NetAddress destination, int prefixLength, int outputIndex, NetAddress gateway, uint metric, string verb)
    {
        CheckPrefix(destination, prefixLength);
        uint seq = Begin(type, (ushort)(NetlinkConstants.FlagRequest | NetlinkConstants.FlagAck | flags));
        Span<byte> h = stackalloc byte[RouteHeaderSize];
        h.Clear();
        h[0] = RtnetlinkWriter.FamilyOf(destination);
        h[1] = (byte)prefixLength;
        h[4] = RouteTableMain;
        h[5] = RouteProtocolStatic;
        h[6] = gateway.IsNone ? RouteScopeLink : RouteScopeUniverse;
        h[7] = RouteTypeUnicast;
        _builder.AddFamilyHeader(h);
        if (prefixLength > 0)
            _builder.AddAddress(RtaDestination, destination);
        if (!gateway.IsNone)
            _builder.AddAddress(RtaGateway, gateway);
        if (outputIndex != 0)
            _builder.AddUInt32(RtaOutputInterface, (uint)outputIndex);
        if (metric != 0)
            _builder.AddUInt32(RtaPriority, metric);
        End(seq, $"{verb} route {destination}/{prefixLength} dev {outputIndex}{(gateway.IsNone ? "" : $" via {gateway}")}");
    }

    private void ChangeNeighbour(ushort type, ushort flags, int index, NetAddress address, MacAddress? mac, string verb)
    {
        uint seq = Begin(type, (ushort)(NetlinkConstants.FlagRequest | NetlinkConstants.FlagAck | flags));
        Span<byte> h = stackalloc byte[NeighbourHeaderSize];
        h.Clear();
        h[0] = RtnetlinkWriter.FamilyOf(address);
        BinaryPrimitives.WriteInt32LittleEndian(h[4..], index);
        BinaryPrimitives.WriteUInt16LittleEndian(h[8..], NudPermanent);
        _builder.AddFamilyHeader(h);
        _builder.AddAddress(NdaDestination, address);
        if (mac is { } m)
            _builder.AddMac(NdaLinkAddress, m);
        End(seq, $"{verb} neighbour {address} on link {index}");
    }

    private static void CheckPrefix(NetAddress address, int prefixLength)
    {
        int max = address.IsV4 ? 32 : 128;
        if ((uint)prefixLength > (uint)max)
            throw new ArgumentOutOfRangeException(nameof(prefixLength), $"A prefix of {address} is 0..{max} bits.");
    }

    private static void ValidateName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        // IFNAMSIZ is 16 including the NUL.
        if (name.Length > 15 || name.Contains('/') || name.Contains(' '))
            throw new ArgumentException($"'{name}' is not a valid interface name (at most 15 characters, no '/' or space).", nameof(name));
    }

    private uint Begin(ushort type, ushort flags)
    {
        _builder.Reset();
        uint seq = _socket.NextSequence();
        _builder.BeginMessage(type, flags, seq);
        return seq;
    }

    private uint BeginCreate(string name)
    {
        uint seq = Begin(NewLink, NetlinkConstants.FlagRequest | NetlinkConstants.FlagAck | NetlinkConstants.FlagCreate | NetlinkConstants.FlagExclusive);
        _builder.AddInfoHeader(0);
        _builder.AddString(IflaIfName, name);
        return seq;
    }

    private uint BeginSet(int index, uint flags = 0, uint change = 0)
    {
        uint seq = Begin(SetLink, NetlinkConstants.FlagRequest | NetlinkConstants.FlagAck);
        _builder.AddInfoHeader(index, flags, change);
        return seq;
    }

    private void End(uint seq, string operation)
    {
        _builder.EndMessage();
        _socket.Request(_builder.Written, seq, operation);
    }
}
