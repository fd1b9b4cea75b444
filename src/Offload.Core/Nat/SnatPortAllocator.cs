using System.Numerics;
using Offload.Flows;
using Offload.Packets;

namespace Offload.Nat;

/// <summary>
/// Source ports of one public IP for SNAT (claim C11). Endpoint-independent: a port is unique per
/// protocol across all remote endpoints, so two connections can never share a reply tuple whatever their
/// destinations, at the price of one port per connection rather than per (connection, destination).
/// For ICMP the "port" is the query identifier.
/// </summary>
/// <remarks>
/// Per protocol, a bitmap of the range plus a summary bitmap of full 64-port words: an allocation starts
/// at a hash of the connection (so allocations spread and do not follow each other) and finds the next
/// free port in O(range / 4096) word reads at worst — effectively O(1). Exhaustion returns false; the
/// caller drops with <see cref="DropReason.SnatExhausted"/>. Not thread-safe: the datapath thread that
/// owns the public IP's connections owns its allocator.
/// </remarks>
public sealed class SnatPortAllocator
{
    private readonly ProtocolPorts?[] _protocols = new ProtocolPorts?[256];
    private readonly ulong _seed;

    /// <summary>Creates an allocator for <paramref name="publicIp"/> handing out ports
    /// <paramref name="firstPort"/>..<paramref name="lastPort"/> (inclusive).</summary>
    /// <param name="publicIp">The public address the ports belong to.</param>
    /// <param name="firstPort">Lowest port handed out.</param>
    /// <param name="lastPort">Highest port handed out.</param>
    /// <param name="hashSeed">Seed of the hash choosing where a search starts.</param>
    public SnatPortAllocator(NetAddress publicIp, ushort firstPort, ushort lastPort, ulong hashSeed = 0)
    {
        if (firstPort > lastPort)
            throw new ArgumentException($"SNAT port range {firstPort}-{lastPort} is empty.", nameof(firstPort));
        PublicIp = publicIp;
        FirstPort = firstPort;
        LastPort = lastPort;
        _seed = hashSeed;
    }

    /// <summary>The public address.</summary>
    public NetAddress PublicIp { get; }

    /// <summary>Lowest port of the range.</summary>
    public ushort FirstPort { get; }

    /// <summary>Highest port of the range (inclusive).</summary>
    public ushort LastPort { get; }

    /// <summary>Ports per protocol.</summary>
    public int Capacity => LastPort - FirstPort + 1;

    /// <summary>Ports in use for <paramref name="protocol"/>.</summary>
    public int InUse(byte protocol) => _protocols[protocol]?.InUse ?? 0;

    /// <summary>True when <paramref name="port"/> is allocated for <paramref name="protocol"/>.</summary>
    public bool IsInUse(byte protocol, ushort port) =>
        port >= FirstPort && port <= LastPort && _protocols[protocol] is { } p && p.IsSet(port - FirstPort);

    /// <summary>Allocates a port for the connection <paramref name="original"/> (its protocol picks the
    /// bitmap; its hash picks where the search starts); false when the range is exhausted.</summary>
    public bool TryAllocate(in FlowKey original, out ushort port)
    {
        var ports = _protocols[original.Protocol] ??= new ProtocolPorts(Capacity);
        int start = (int)(FlowHash.Hash(original, _seed) % (ulong)Capacity);
        int index = ports.Allocate(start);
        if (index < 0)
        {
            port = 0;
            return false;
        }
        port = (ushort)(FirstPort + index);
        return true;
    }

    /// <summary>Returns <paramref name="port"/> to the pool; false when it was not in use (or out of range).</summary>
    public bool Release(byte protocol, ushort port)
    {
        if (port < FirstPort || port > LastPort || _protocols[protocol] is not { } ports)
            return false;
        return ports.Clear(port - FirstPort);
    }

    /// <summary>One protocol's ports: bit set = in use (bits past the range are set for good).</summary>
    private sealed class ProtocolPorts
    {
        private readonly ulong[] _words;
        private readonly ulong[] _fullWords;
        private readonly int _capacity;

        public ProtocolPorts(int capacity)
        {
            _capacity = capacity;
            _words = new ulong[(capacity + 63) >> 6];
            _fullWords = new ulong[(_words.Length + 63) >> 6];
            for (int i = capacity; i < _words.Length << 6; i++)
                _words[i >> 6] |= 1UL << i;
            for (int w = 0; w < _words.Length; w++)
            {
                if (_words[w] == ulong.MaxValue)
                    _fullWords[w >> 6] |= 1UL << w;
            }
            for (int w = _words.Length; w < _fullWords.Length << 6; w++)
                _fullWords[w >> 6] |= 1UL << w;
        }

        public int InUse { get; private set; }

        public bool IsSet(int index) => (_words[index >> 6] & (1UL << index)) != 0;

        public int Allocate(int start)
        {
            if (InUse == _capacity)
                return -1;
            int w = start >> 6;
            ulong free = ~_words[w] & (ulong.MaxValue << (start & 63));
            if (free == 0)
            {
                w = NextNotFull(w + 1);
                if (w < 0)
                    w = NextNotFull(0);
                // InUse < capacity guarantees a non-full word exists.
                free = ~_words[w];
            }
            int bit = BitOperations.TrailingZeroCount(free);
            _words[w] |= 1UL << bit;
            if (_words[w] == ulong.MaxValue)
                _fullWords[w >> 6] |= 1UL << w;
            InUse++;
            return (w << 6) + bit;
        }

        public bool Clear(int index)
        {
            int w = index >> 6;
            ulong bit = 1UL << index;
            if ((_words[w] & bit) == 0)
                return false;
            _words[w] &= ~bit;
            _fullWords[w >> 6] &= ~(1UL << w);
            InUse--;
            return true;
        }

        private int NextNotFull(int from)
        {
            if (from >= _words.Length)
                return -1;
            int s = from >> 6;
            ulong notFull = ~_fullWords[s] & (ulong.MaxValue << (from & 63));
            while (notFull == 0)
            {
                if (++s == _fullWords.Length)
                    return -1;
                notFull = ~_fullWords[s];
            }
            return (s << 6) + BitOperations.TrailingZeroCount(notFull);
        }
    }
}
