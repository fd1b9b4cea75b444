using Offload.Flows;
using Offload.Packets;

namespace Offload.Benchmarks.Workloads;

/// <summary>Distinct 7-tuples spread like a host's traffic: many IPv4 sources and destinations, random ports.</summary>
internal static class FlowKeys
{
    public static FlowKey[] Distinct(int count, int seed)
    {
        var r = new Random(seed);
        var keys = new FlowKey[count];
        var seen = new HashSet<FlowKey>(count);
        int n = 0;
        while (n < count)
        {
            var k = new FlowKey(NetAddress.FromV4(0x0A00_0000u | (uint)r.Next(1 << 20)), (ushort)r.Next(1024, 65536),
                NetAddress.FromV4(0x0A00_0000u | (uint)r.Next(1 << 20)), (ushort)r.Next(1, 65536),
                r.Next(4) == 0 ? IpProtocol.Udp : IpProtocol.Tcp, (ushort)r.Next(1, 64), (uint)(100 + r.Next(16)));
            if (seen.Add(k))
                keys[n++] = k;
        }
        return keys;
    }

    /// <summary>A random sequence of indices in [0, <paramref name="range"/>) (uniform: every query is a likely cache miss).</summary>
    public static int[] RandomOrder(int length, int range, int seed)
    {
        var r = new Random(seed);
        var order = new int[length];
        for (int i = 0; i < order.Length; i++)
            order[i] = r.Next(range);
        return order;
    }
}
