using Offload.Flows;

namespace Offload.Tests.Flows;

public unsafe class TableMemoryTests
{
    private const long HugePage = 2 * 1024 * 1024;

    [Fact]
    public void Allocate_SmallArray_CacheLineAlignedAndWritable()
    {
        byte* memory = (byte*)TableMemory.Allocate(1000);
        try
        {
            ((long)memory % 64).Should().Be(0);
            new Span<byte>(memory, 1000).Fill(0xAB);
            memory[999].Should().Be(0xAB);
        }
        finally
        {
            TableMemory.Free(memory);
        }
    }

    [Fact]
    public void Allocate_ArrayOfHugePages_AlignedToHugePageAndWritableToTheEnd()
    {
        const int bytes = (int)(3 * HugePage) + 4096 + 8;
        byte* memory = (byte*)TableMemory.Allocate(bytes);
        try
        {
            ((long)memory % HugePage).Should().Be(0);
            new Span<byte>(memory, bytes).Fill(0x5A);
            memory[bytes - 1].Should().Be(0x5A);
            memory[0].Should().Be(0x5A);
        }
        finally
        {
            TableMemory.Free(memory);
        }
    }

    [Fact]
    public void Allocate_ArrayOfHugePagesOnLinux_RangeAdvisedForHugePages()
    {
        // Only a kernel built with transparent huge pages knows the advice.
        if (!OperatingSystem.IsLinux() || !Directory.Exists("/sys/kernel/mm/transparent_hugepage"))
            return;
        byte* memory = (byte*)TableMemory.Allocate((nuint)(4 * HugePage));
        try
        {
            // The kernel lists the advice as the "hg" flag of the mapping holding the range.
            VmFlagsOf((ulong)memory).Should().Contain("hg");
        }
        finally
        {
            TableMemory.Free(memory);
        }
    }

    private static string[] VmFlagsOf(ulong address)
    {
        bool inside = false;
        foreach (string line in File.ReadLines("/proc/self/smaps"))
        {
            int dash = line.IndexOf('-', StringComparison.Ordinal);
            int space = line.IndexOf(' ', StringComparison.Ordinal);
            if (dash > 0 && space > dash && ulong.TryParse(line.AsSpan(0, dash), System.Globalization.NumberStyles.HexNumber, null, out ulong start)
                && ulong.TryParse(line.AsSpan(dash + 1, space - dash - 1), System.Globalization.NumberStyles.HexNumber, null, out ulong end))
            {
                inside = start <= address && address < end;
                continue;
            }
            if (inside && line.StartsWith("VmFlags:", StringComparison.Ordinal))
                return line["VmFlags:".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        }
        return [];
    }
}
