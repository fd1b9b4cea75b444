using Offload.Capture;
using Offload.Packets;

namespace Offload.Tests.Packets;

/// <summary>The tcpdump test captures shared with the project (always provided beside the repository).</summary>
internal static class Corpus
{
    private static readonly Lazy<string> DirectoryPath = new(Locate);

    /// <summary>The folder; throws with a clear message when it is missing.</summary>
    public static string Directory => DirectoryPath.Value;

    public static string[] Files() =>
        System.IO.Directory.GetFiles(Directory, "*.pcap").OrderBy(f => f, StringComparer.Ordinal).ToArray();

    private static string Locate()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Offload.sln")))
            dir = dir.Parent;
        if (dir is null)
            throw new InvalidOperationException($"no Offload.sln above {AppContext.BaseDirectory}: cannot locate the repository root.");
        string corpus = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "captures", "tcpdump-tests"));
        if (!System.IO.Directory.Exists(corpus))
            throw new InvalidOperationException($"capture corpus missing: expected {corpus} (shared/captures/tcpdump-tests beside the repository).");
        return corpus;
    }

    /// <summary>Every frame the reader could read, and the reader's error if it stopped early.</summary>
    public static (List<byte[]> Frames, InvalidDataException? Error) Read(string path)
    {
        var frames = new List<byte[]>();
        try
        {
            using var reader = PcapReader.Open(path);
            while (reader.TryReadNext(out _, out var data))
                frames.Add(data.ToArray());
            return (frames, null);
        }
        catch (InvalidDataException e)
        {
            return (frames, e);
        }
    }

    /// <summary>Parses the inner frame of a tunnel packet (Ethernet for VXLAN and GRE/TEB, IP for GRE carrying IP).</summary>
    public static void ParseInner(byte[] frame, in ParsedPacket outer, out ParsedPacket inner)
    {
        var span = new ReadOnlySpan<byte>(frame, outer.InnerOffset, outer.L3End - outer.InnerOffset);
        if (outer.InnerEtherType == EtherType.TransparentEthernetBridging)
            PacketParser.Parse(span, out inner);
        else
            PacketParser.ParseL3(span, outer.InnerEtherType, out inner);
    }
}
