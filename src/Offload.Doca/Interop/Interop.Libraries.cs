internal static partial class Interop
{
    /// <summary>Native library names, in one place; <see cref="Offload.Doca.DocaLibrary"/> resolves them.</summary>
    internal static class Libraries
    {
        internal const string DocaCommon = "libdoca_common.so.2";
        internal const string DocaFlow = "libdoca_flow.so.2";
        internal const string Shim = "libofl_doca_shim.so";
    }
}
