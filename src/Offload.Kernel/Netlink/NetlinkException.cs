using System.Runtime.InteropServices;

namespace Offload.Kernel.Netlink;

/// <summary>A netlink control-plane call failed; carries the kernel's errno.</summary>
public sealed class NetlinkException : Exception
{
    /// <summary>Creates an exception for an errno.</summary>
    public NetlinkException(string operation, int errno)
        : base($"{operation} failed: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})")
    {
        Operation = operation;
        Errno = errno;
    }

    /// <summary>Creates an exception for a malformed reply.</summary>
    public NetlinkException(string operation, NetlinkParseError parseError)
        : base($"{operation} failed: malformed netlink reply ({parseError})")
    {
        Operation = operation;
        ParseError = parseError;
    }

    /// <summary>What was being done.</summary>
    public string Operation { get; }

    /// <summary>The positive errno, or 0 when the failure was a malformed reply.</summary>
    public int Errno { get; }

    /// <summary>Why the reply could not be read, when that was the failure.</summary>
    public NetlinkParseError ParseError { get; }

    /// <summary>Whether retrying the same call may succeed (lost messages, memory pressure, interrupted dump).</summary>
    public bool IsTransient => Errno is Interop.Sys.Errno.ENOBUFS or Interop.Sys.Errno.EAGAIN or Interop.Sys.Errno.EINTR
        or Interop.Sys.Errno.ENOMEM or Interop.Sys.Errno.EBUSY;
}
