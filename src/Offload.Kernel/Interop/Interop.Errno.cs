internal static partial class Interop
{
    internal static partial class Sys
    {
        /// <summary>Linux errno values this library reacts to.</summary>
        internal static class Errno
        {
            internal const int EINTR = 4;
            internal const int ENOENT = 2;
            internal const int EAGAIN = 11;
            internal const int ENOBUFS = 105;
            internal const int EBUSY = 16;
            internal const int ENOMEM = 12;
            internal const int EMSGSIZE = 90;
        }
    }
}
