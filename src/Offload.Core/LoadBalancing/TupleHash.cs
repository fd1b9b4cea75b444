using System.Runtime.CompilerServices;
using Offload.Flows;

namespace Offload.LoadBalancing;

/// <summary>Stable (not per-process) hashes, so the same connection and backend names map the same way
/// on every host and after a restart.</summary>
internal static class TupleHash
{
    /// <summary>Hash of the 5-tuple (addresses, ports, protocol); ingress port and VNI are left out.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong FiveTuple(in FlowKey key, ulong seed)
    {
        ulong h = seed ^ 0x9E37_79B9_7F4A_7C15UL;
        h = Mix(h ^ key.SrcIp.Hi, key.SrcIp.Lo ^ 0xA076_1D64_78BD_642FUL);
        h = Mix(h ^ key.DstIp.Hi, key.DstIp.Lo ^ 0xE703_7ED1_A0B4_28DBUL);
        ulong small = ((ulong)key.SrcPort << 32) | ((ulong)key.DstPort << 16) | key.Protocol;
        return Mix(h, small ^ 0x8EBC_6AF0_9C88_C6E3UL);
    }

    /// <summary>A 64-bit hash of a name (FNV-1a over UTF-16 code units, then a full-avalanche finaliser).</summary>
    public static ulong Name(string name, ulong seed)
    {
        ulong h = 0xCBF2_9CE4_8422_2325UL ^ seed;
        foreach (char c in name)
        {
            h ^= c;
            h *= 0x0000_0100_0000_01B3UL;
        }
        return Finalise(h);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong Mix(ulong a, ulong b)
    {
        ulong hi = Math.BigMul(a, b, out ulong lo);
        return hi ^ lo;
    }

    private static ulong Finalise(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58_476D_1CE4_E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D0_49BB_1331_11EBUL;
        return z ^ (z >> 31);
    }
}
