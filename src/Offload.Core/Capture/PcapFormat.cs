namespace Offload.Capture;

/// <summary>Constants of the classic libpcap file format (not pcapng).</summary>
public static class PcapFormat
{
    /// <summary>Magic of a file with microsecond timestamps, as read in the writer's byte order.</summary>
    public const uint MicrosecondMagic = 0xA1B2C3D4;
    /// <summary>Magic of a file with nanosecond timestamps, as read in the writer's byte order.</summary>
    public const uint NanosecondMagic = 0xA1B23C4D;
    /// <summary>Length of the file header.</summary>
    public const int FileHeaderLength = 24;
    /// <summary>Length of each record header.</summary>
    public const int RecordHeaderLength = 16;
    /// <summary>LINKTYPE_ETHERNET.</summary>
    public const uint LinkTypeEthernet = 1;
    /// <summary>Largest record the reader accepts whatever the file's snapshot length says (libpcap's own ceiling).</summary>
    public const int MaxRecordLength = 256 * 1024;
}
