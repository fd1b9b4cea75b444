using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Offload.Doca.Native;

// Mirrors of src/Offload.Doca/native/offload_doca_shim.h, ABI version 2 (2 added the TTL-decrement rewrite bit). DocaLibrary checks
// them against ofl_shim_struct_sizes / ofl_shim_struct_offsets before the first call.

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct OflTuple
{
    public fixed byte SrcIp[16];
    public fixed byte DstIp[16];
    public ushort SrcPort;
    public ushort DstPort;
    public byte IpVersion;
    public byte L4Proto;
    public ushort Reserved0;
    public uint Vni;
    public uint Reserved1;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct OflEncap
{
    public byte Tunnel;
    public byte IpVersion;
    public byte Ttl;
    public byte Reserved0;
    public uint Vni;
    public ushort UdpSrcPort;
    public fixed byte SrcMac[6];
    public fixed byte DstMac[6];
    public ushort Reserved1;
    public fixed byte SrcIp[16];
    public fixed byte DstIp[16];
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct OflAction
{
    public uint Fate;
    public uint Rewrites;
    public ushort Port;
    public ushort SrcPort;
    public ushort DstPort;
    public ushort Reserved0;
    public fixed byte SrcIp[16];
    public fixed byte DstIp[16];
    public fixed byte SrcMac[6];
    public fixed byte DstMac[6];
    public uint Reserved1;
    public OflEncap Encap;
    public ulong NextPipe;
}

[StructLayout(LayoutKind.Sequential)]
internal struct OflEntrySpec
{
    public OflTuple Match;
    public OflAction Action;
    public uint Monitor;
    public uint AgingSeconds;
}

[StructLayout(LayoutKind.Sequential)]
internal unsafe struct OflPipeSpec
{
    public fixed byte Name[32];
    public uint Kind;
    public uint MatchFields;
    public uint NrEntries;
    public uint IsRoot;
    public uint MissFate;
    public ushort MissPort;
    public ushort Reserved0;
    public ulong MissNextPipe;
}

[StructLayout(LayoutKind.Sequential)]
internal struct OflCtSpec
{
    public OflTuple Origin;
    public OflTuple Reply;
    public OflAction OriginAction;
    public OflAction ReplyAction;
    public uint TimeoutSeconds;
    public uint Reserved0;
}

[StructLayout(LayoutKind.Sequential)]
internal struct OflCtStats
{
    public ulong OriginPackets;
    public ulong OriginBytes;
    public ulong ReplyPackets;
    public ulong ReplyBytes;
    public ulong LastHitSeconds;
}

/// <summary>DOCA's counter read-back (the counter member of its query union).</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct DocaResourceQuery
{
    public ulong TotalBytes;
    public ulong TotalPackets;
}

internal static class ShimAbi
{
    public const uint Version = 2;

    public const uint SubmitNoWait = 0;
    public const uint SubmitBatch = 1;

    /// <summary>Sizes in the order ofl_shim_struct_sizes writes them.</summary>
    public static uint[] ExpectedSizes() =>
    [
        (uint)Unsafe.SizeOf<OflTuple>(), (uint)Unsafe.SizeOf<OflEncap>(), (uint)Unsafe.SizeOf<OflAction>(),
        (uint)Unsafe.SizeOf<OflEntrySpec>(), (uint)Unsafe.SizeOf<OflPipeSpec>(), (uint)Unsafe.SizeOf<OflCtSpec>(),
        (uint)Unsafe.SizeOf<OflCtStats>(),
    ];

    /// <summary>Offsets in the order ofl_shim_struct_offsets writes them.</summary>
    public static uint[] ExpectedOffsets() =>
    [
        Of<OflTuple>(nameof(OflTuple.SrcIp)), Of<OflTuple>(nameof(OflTuple.DstIp)), Of<OflTuple>(nameof(OflTuple.SrcPort)),
        Of<OflTuple>(nameof(OflTuple.DstPort)), Of<OflTuple>(nameof(OflTuple.IpVersion)), Of<OflTuple>(nameof(OflTuple.L4Proto)),
        Of<OflTuple>(nameof(OflTuple.Vni)), Of<OflEncap>(nameof(OflEncap.Tunnel)), Of<OflEncap>(nameof(OflEncap.IpVersion)),
        Of<OflEncap>(nameof(OflEncap.Ttl)), Of<OflEncap>(nameof(OflEncap.Vni)), Of<OflEncap>(nameof(OflEncap.UdpSrcPort)),
        Of<OflEncap>(nameof(OflEncap.SrcMac)), Of<OflEncap>(nameof(OflEncap.DstMac)), Of<OflEncap>(nameof(OflEncap.SrcIp)),
        Of<OflEncap>(nameof(OflEncap.DstIp)), Of<OflAction>(nameof(OflAction.Fate)), Of<OflAction>(nameof(OflAction.Rewrites)),
        Of<OflAction>(nameof(OflAction.Port)), Of<OflAction>(nameof(OflAction.SrcPort)), Of<OflAction>(nameof(OflAction.DstPort)),
        Of<OflAction>(nameof(OflAction.SrcIp)), Of<OflAction>(nameof(OflAction.DstIp)), Of<OflAction>(nameof(OflAction.SrcMac)),
        Of<OflAction>(nameof(OflAction.DstMac)), Of<OflAction>(nameof(OflAction.Encap)), Of<OflAction>(nameof(OflAction.NextPipe)),
        Of<OflEntrySpec>(nameof(OflEntrySpec.Match)), Of<OflEntrySpec>(nameof(OflEntrySpec.Action)),
        Of<OflEntrySpec>(nameof(OflEntrySpec.Monitor)), Of<OflEntrySpec>(nameof(OflEntrySpec.AgingSeconds)),
        Of<OflPipeSpec>(nameof(OflPipeSpec.Name)), Of<OflPipeSpec>(nameof(OflPipeSpec.Kind)),
        Of<OflPipeSpec>(nameof(OflPipeSpec.MatchFields)), Of<OflPipeSpec>(nameof(OflPipeSpec.NrEntries)),
        Of<OflPipeSpec>(nameof(OflPipeSpec.IsRoot)), Of<OflPipeSpec>(nameof(OflPipeSpec.MissFate)),
        Of<OflPipeSpec>(nameof(OflPipeSpec.MissPort)), Of<OflPipeSpec>(nameof(OflPipeSpec.MissNextPipe)),
        Of<OflCtSpec>(nameof(OflCtSpec.Origin)), Of<OflCtSpec>(nameof(OflCtSpec.Reply)), Of<OflCtSpec>(nameof(OflCtSpec.OriginAction)),
        Of<OflCtSpec>(nameof(OflCtSpec.ReplyAction)), Of<OflCtSpec>(nameof(OflCtSpec.TimeoutSeconds)),
        Of<OflCtStats>(nameof(OflCtStats.OriginPackets)), Of<OflCtStats>(nameof(OflCtStats.OriginBytes)),
        Of<OflCtStats>(nameof(OflCtStats.ReplyPackets)), Of<OflCtStats>(nameof(OflCtStats.ReplyBytes)),
        Of<OflCtStats>(nameof(OflCtStats.LastHitSeconds)),
    ];

    private static uint Of<T>(string field) => (uint)Marshal.OffsetOf<T>(field);
}
