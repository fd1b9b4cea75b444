internal static partial class Interop
{
    /// <summary>Native library names, in one place.</summary>
    internal static class Libraries
    {
        // glibc's soname: "libc" alone resolves to the linker script libc.so only when dev packages are installed.
        internal const string Libc = "libc.so.6";
        internal const string Nftables = "libnftables.so.1";
    }
}
