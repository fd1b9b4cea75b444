using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Offload.Packets;

namespace Offload.Flows;

/// <summary>
/// The fast-path lookup key (claim C3): source IP, source port, destination IP, destination port,
/// L4 protocol, ingress port and VNI. ICMP and ICMPv6 put the identifier in <see cref="SrcPort"/> and
/// (type &lt;&lt; 8) | code in <see cref="DstPort"/>, as nf_conntrack's ICMP tuple does.
/// </summary>
/// <remarks>
/// 48 bytes with no implicit padding (the last field is explicit and always zero), so equality and
/// hashing can read the key as six 64-bit words.
/// </remarks>
[StructLayout(LayoutKind.Sequential)]
public readonly struct FlowKey : IEquatable<FlowKey>
{
    /// <summary>Source address.</summary>
    public readonly NetAddress SrcIp;
    /// <summary>Destination address.</summary>
    public readonly NetAddress DstIp;
    /// <summary>Source port, or ICMP identifier.</summary>
    public readonly ushort SrcPort;
    /// <summary>Destination port, or ICMP (type &lt;&lt; 8) | code.</summary>
    public readonly ushort DstPort;
    /// <summary>Virtual network identifier (24 bits used).</summary>
    public readonly uint Vni;
    /// <summary>Ingress port number (the switch's port index).</summary>
    public readonly ushort InPort;
    /// <summary>L4 protocol number.</summary>
    public readonly byte Protocol;
    private readonly byte _reserved8;
    private readonly uint _reserved32;

    /// <summary>Creates a key.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public FlowKey(NetAddress srcIp, ushort srcPort, NetAddress dstIp, ushort dstPort, byte protocol, ushort inPort, uint vni)
    {
        SrcIp = srcIp;
        DstIp = dstIp;
        SrcPort = srcPort;
        DstPort = dstPort;
        Vni = vni;
        InPort = inPort;
        Protocol = protocol;
        _reserved8 = 0;
        _reserved32 = 0;
    }

    /// <summary>The key of a parsed packet (ports as the parser reported them).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static FlowKey FromPacket(in ParsedPacket packet, ushort inPort, uint vni) =>
        new(packet.SrcIp, packet.SrcPort, packet.DstIp, packet.DstPort, packet.Protocol, inPort, vni);

    /// <summary>True for an IPv4 key.</summary>
    public bool IsV4 => SrcIp.IsV4;

    /// <summary>
    /// The key of the reply direction of this connection, arriving on <paramref name="replyInPort"/> in
    /// <paramref name="replyVni"/>: addresses and ports swapped; for ICMP queries the identifier stays and
    /// the type becomes the reply type. Returns false for ICMP messages that have no reply (errors,
    /// unknown types).
    /// </summary>
    public bool TryInvert(ushort replyInPort, uint replyVni, out FlowKey reply)
    {
        if (Protocol is IpProtocol.Icmp or IpProtocol.IcmpV6)
        {
            byte type = (byte)(DstPort >> 8);
            byte code = (byte)DstPort;
            if (!TryIcmpReplyType(Protocol, type, out byte replyType))
            {
                reply = default;
                return false;
            }
            reply = new FlowKey(DstIp, SrcPort, SrcIp, (ushort)((replyType << 8) | code), Protocol, replyInPort, replyVni);
            return true;
        }
        reply = new FlowKey(DstIp, DstPort, SrcIp, SrcPort, Protocol, replyInPort, replyVni);
        return true;
    }

    /// <summary>The ICMP query type answering <paramref name="type"/> (echo → echo reply and so on, both ways).</summary>
    public static bool TryIcmpReplyType(byte protocol, byte type, out byte replyType)
    {
        replyType = (protocol, type) switch
        {
            (IpProtocol.Icmp, 8) => 0,
            (IpProtocol.Icmp, 0) => 8,
            (IpProtocol.Icmp, 13) => 14,
            (IpProtocol.Icmp, 14) => 13,
            (IpProtocol.Icmp, 15) => 16,
            (IpProtocol.Icmp, 16) => 15,
            (IpProtocol.Icmp, 17) => 18,
            (IpProtocol.Icmp, 18) => 17,
            (IpProtocol.IcmpV6, 128) => 129,
            (IpProtocol.IcmpV6, 129) => 128,
            (IpProtocol.IcmpV6, 139) => 140,
            (IpProtocol.IcmpV6, 140) => 139,
            _ => byte.MaxValue,
        };
        return replyType != byte.MaxValue;
    }

    /// <summary>A copy of the key with another ingress port and VNI.</summary>
    public FlowKey WithInPort(ushort inPort, uint vni) => new(SrcIp, SrcPort, DstIp, DstPort, Protocol, inPort, vni);

    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Equals(FlowKey other)
    {
        ref ulong a = ref Unsafe.As<FlowKey, ulong>(ref Unsafe.AsRef(in this));
        ref ulong b = ref Unsafe.As<FlowKey, ulong>(ref other);
        return ((a ^ b) | (Unsafe.Add(ref a, 1) ^ Unsafe.Add(ref b, 1)) | (Unsafe.Add(ref a, 2) ^ Unsafe.Add(ref b, 2))
              | (Unsafe.Add(ref a, 3) ^ Unsafe.Add(ref b, 3)) | (Unsafe.Add(ref a, 4) ^ Unsafe.Add(ref b, 4))
              | (Unsafe.Add(ref a, 5) ^ Unsafe.Add(ref b, 5))) == 0;
    }

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is FlowKey other && Equals(other);

    /// <summary>Hash with the process-wide random seed (see <see cref="FlowHash"/> for a chosen seed).</summary>
    public override int GetHashCode() => (int)FlowHash.Hash(in this, FlowHash.ProcessSeed);

    /// <summary>Equality.</summary>
    public static bool operator ==(FlowKey left, FlowKey right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(FlowKey left, FlowKey right) => !left.Equals(right);

    /// <inheritdoc/>
    public override string ToString() =>
        $"{IpProtocol.Name(Protocol)} {SrcIp}:{SrcPort} -> {DstIp}:{DstPort} in {InPort} vni {Vni}";
}

/// <summary>
/// The flow-key hash: a seeded 64-bit hash of the six key words built on 64×64→128-bit multiplies
/// (the "folded multiply" of wyhash/rapidhash), which mixes every input bit into every output bit.
/// Tables seed it randomly so that an attacker who picks 5-tuples cannot aim them at one bucket.
/// </summary>
public static class FlowHash
{
    private const ulong K0 = 0x2d358dccaa6c78a5UL;
    private const ulong K1 = 0x8bb84b93962eacc9UL;
    private const ulong K2 = 0x4b33a62ed433d4a3UL;
    private const ulong K3 = 0x4d5a2da51de1aa47UL;
    private const ulong K4 = 0xa0761d6478bd642fUL;
    private const ulong K5 = 0xe7037ed1a0b428dbUL;

    /// <summary>A random seed chosen once per process.</summary>
    public static readonly ulong ProcessSeed = (ulong)Random.Shared.NextInt64() ^ ((ulong)Random.Shared.NextInt64() << 1);

    /// <summary>Hashes <paramref name="key"/> with <paramref name="seed"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Hash(in FlowKey key, ulong seed)
    {
        ref ulong w = ref Unsafe.As<FlowKey, ulong>(ref Unsafe.AsRef(in key));
        ulong a = Mix(w ^ seed ^ K0, Unsafe.Add(ref w, 1) ^ K1);
        ulong b = Mix(Unsafe.Add(ref w, 2) ^ seed ^ K2, Unsafe.Add(ref w, 3) ^ K3);
        ulong c = Mix(Unsafe.Add(ref w, 4) ^ seed ^ K4, Unsafe.Add(ref w, 5) ^ K5);
        return Mix(a ^ c ^ K1, b ^ K4);
    }

    /// <summary>A direction-independent hash of the 5-tuple (the same for a flow and its reply), used for
    /// outer UDP source ports of tunnels and for ECMP-like choices.</summary>
    public static uint SymmetricHash(in FlowKey key)
    {
        ulong src = key.SrcIp.Hi ^ key.SrcIp.Lo ^ ((ulong)key.SrcPort << 48);
        ulong dst = key.DstIp.Hi ^ key.DstIp.Lo ^ ((ulong)key.DstPort << 48);
        ulong lo = Math.Min(src, dst), hi = Math.Max(src, dst);
        ulong h = Mix(lo ^ K0, hi ^ K1 ^ key.Protocol);
        return (uint)(h ^ (h >> 32));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Mix(ulong a, ulong b)
    {
        ulong hi = Math.BigMul(a, b, out ulong lo);
        return hi ^ lo;
    }
}
