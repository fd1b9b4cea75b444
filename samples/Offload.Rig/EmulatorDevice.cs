using System.Runtime.InteropServices;

namespace Offload.Rig;

/// <summary>
/// The emulator's emu_* controls and packet model, looked up in the same libdoca_flow.so.2 the binding loaded
/// (dlopen of the same path hands back the same handle, so both see one device state). Emulator only: real DOCA has
/// none of these exports.
/// </summary>
public sealed unsafe class EmulatorDevice
{
    /// <summary>emu_inject_packet results.</summary>
    public const int PacketPort = 1, PacketDrop = 2, PacketMiss = 3;

    private readonly nint _lib;

    /// <summary>Opens the emulator in <paramref name="directory"/> (the generation directory holding libdoca_flow.so.2).</summary>
    public EmulatorDevice(string directory) => _lib = NativeLibrary.Load(Path.Combine(directory, "libdoca_flow.so.2"));

    private nint Export(string name) => NativeLibrary.GetExport(_lib, name);

    /// <summary>Forgets every port, pipe, entry and fault.</summary>
    public void Reset() => ((delegate* unmanaged[Cdecl]<void>)Export("emu_reset"))();

    /// <summary>Switches the device to a manual clock at <paramref name="ns"/>.</summary>
    public void SetTimeNs(ulong ns) => ((delegate* unmanaged[Cdecl]<ulong, void>)Export("emu_set_time_ns"))(ns);

    /// <summary>Advances the manual clock.</summary>
    public void AdvanceTimeNs(ulong ns) => ((delegate* unmanaged[Cdecl]<ulong, void>)Export("emu_advance_time_ns"))(ns);

    /// <summary>Marks a port dead (every call fails fatally, entries lost) or alive again.</summary>
    public void SetDeviceFatal(ushort port, bool fatal) => ((delegate* unmanaged[Cdecl]<ushort, int, void>)Export("emu_set_device_fatal"))(port, fatal ? 1 : 0);

    /// <summary>Makes pipes refuse entries past their nr_entries with DOCA_ERROR_FULL.</summary>
    public void SetEnforcePipeCapacity(bool on) => ((delegate* unmanaged[Cdecl]<int, void>)Export("emu_set_enforce_pipe_capacity"))(on ? 1 : 0);

    /// <summary>Makes every <paramref name="everyNth"/>th completion an ERROR (0 turns it off).</summary>
    public void SetCompletionErrors(uint everyNth) => ((delegate* unmanaged[Cdecl]<uint, uint, ulong, void>)Export("emu_set_completion_errors"))(everyNth, 0, 1);

    /// <summary>Entries live on the device.</summary>
    public uint LiveEntries => ((delegate* unmanaged[Cdecl]<uint>)Export("emu_live_entries"))();

    /// <summary>Injects a frame on <paramref name="port"/>; returns the emulator's result, the frame as it left and its port.</summary>
    public int Inject(ushort port, ReadOnlySpan<byte> frame, out byte[] output, out ushort outPort)
    {
        byte[] buffer = new byte[frame.Length + 256];
        uint len = (uint)buffer.Length;
        ushort op = 0;
        int rc;
        fixed (byte* f = frame)
        fixed (byte* o = buffer)
            rc = ((delegate* unmanaged[Cdecl]<ushort, byte*, uint, byte*, uint*, ushort*, int>)Export("emu_inject_packet"))(port, f, (uint)frame.Length, o, &len, &op);
        output = rc > 0 ? buffer.AsSpan(0, (int)len).ToArray() : [];
        outPort = op;
        return rc;
    }

    /// <summary>A readable name for an inject result.</summary>
    public static string Describe(int rc) => rc switch
    {
        PacketPort => "forwarded",
        PacketDrop => "dropped",
        PacketMiss => "missed (no entry)",
        _ => $"error {rc}",
    };
}
