namespace Offload.Doca.Tests.Flow;

/// <summary>The emulator's emu_* controls, called through the handle the binding loaded.</summary>
internal static unsafe class EmulatorControl
{
    private static nint Export(string name) =>
        System.Runtime.InteropServices.NativeLibrary.GetExport(DocaLibrary.FlowLibraryHandle, name);

    public static void Reset() => ((delegate* unmanaged[Cdecl]<void>)Export("emu_reset"))();

    /// <summary>A test's start: a fresh emulator whose clock reads 1 s.</summary>
    public static void BeginTest()
    {
        Reset();
        SetTimeNs(1_000_000_000);
    }

    /// <summary>A test's end: the emulator is reset, and the lifecycle violations it counted (use after remove, double
    /// init, calls out of order) must be none.</summary>
    public static void EndTest(string because)
    {
        uint violations = Violations;
        Reset();
        violations.Should().Be(0, because);
    }

    public static char Generation => (char)((delegate* unmanaged[Cdecl]<int>)Export("emu_generation"))();

    public static void SetTimeNs(ulong ns) => ((delegate* unmanaged[Cdecl]<ulong, void>)Export("emu_set_time_ns"))(ns);

    public static void AdvanceTimeNs(ulong ns) => ((delegate* unmanaged[Cdecl]<ulong, void>)Export("emu_advance_time_ns"))(ns);

    public static void FailNextSubmits(uint count, DocaError code) =>
        ((delegate* unmanaged[Cdecl]<uint, int, void>)Export("emu_fail_next_submits"))(count, (int)code);

    public static void SetCompletionErrors(uint everyNth, uint perMillion, ulong seed) =>
        ((delegate* unmanaged[Cdecl]<uint, uint, ulong, void>)Export("emu_set_completion_errors"))(everyNth, perMillion, seed);

    public static void SetDeviceFatal(ushort port, bool fatal) =>
        ((delegate* unmanaged[Cdecl]<ushort, int, void>)Export("emu_set_device_fatal"))(port, fatal ? 1 : 0);

    public static uint LiveEntries => ((delegate* unmanaged[Cdecl]<uint>)Export("emu_live_entries"))();

    public static uint Violations => ((delegate* unmanaged[Cdecl]<uint>)Export("emu_violation_count"))();

    public const int PacketPort = 1, PacketDrop = 2, PacketMiss = 3;

    /// <summary>emu_drop_reason values.</summary>
    public const int DropFate = 0, DropTtlExceeded = 1;

    /// <summary>Packets the packet model dropped for <paramref name="reason"/> since the last reset.</summary>
    public static ulong DropCount(int reason) => ((delegate* unmanaged[Cdecl]<int, ulong>)Export("emu_drop_count"))(reason);

    /// <summary>Injects a frame; returns the emulator's result and the frame as it left.</summary>
    public static int Inject(ushort port, ReadOnlySpan<byte> frame, out byte[] output, out ushort outPort)
    {
        byte[] buffer = new byte[4096];
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
}

/// <summary>Emulator controls added for the backend tests.</summary>
internal static unsafe class EmulatorFaults
{
    private static nint Export(string name) =>
        System.Runtime.InteropServices.NativeLibrary.GetExport(DocaLibrary.FlowLibraryHandle, name);

    public static void SetEnforcePipeCapacity(bool on) =>
        ((delegate* unmanaged[Cdecl]<int, void>)Export("emu_set_enforce_pipe_capacity"))(on ? 1 : 0);
}
