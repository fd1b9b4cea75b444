namespace Offload.Kernel.Netlink;

/// <summary>Why a netlink message or attribute could not be read.</summary>
public enum NetlinkParseError : byte
{
    /// <summary>No error.</summary>
    None = 0,
    /// <summary>Fewer bytes remain than a header needs.</summary>
    TruncatedHeader,
    /// <summary>A length field is smaller than its own header.</summary>
    LengthTooSmall,
    /// <summary>A length field points past the end of the enclosing buffer.</summary>
    LengthBeyondBuffer,
    /// <summary>An attribute payload does not have the size its type requires.</summary>
    BadPayloadSize,
    /// <summary>A fixed family header (e.g. nfgenmsg) is missing.</summary>
    MissingFamilyHeader,
    /// <summary>A required attribute is absent.</summary>
    MissingAttribute,
    /// <summary>An attribute value is not one this reader understands.</summary>
    UnsupportedValue,
    /// <summary>The datagram did not come from the kernel (sender port id not 0).</summary>
    NotFromKernel,
}
