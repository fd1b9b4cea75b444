using System.Globalization;
using Offload.Kernel.Conntrack;
using Offload.Packets;

namespace Offload.Kernel.Tests.Conntrack;

/// <summary>One line of <c>conntrack -L -o extended</c>, parsed independently of our netlink code (the test oracle).</summary>
public sealed record ConntrackToolLine(
    ConntrackTuple Original, ConntrackTuple Reply, uint Timeout, string? TcpState, bool Unreplied, bool Assured, uint Mark, ushort Zone)
{
    /// <summary>Parses every line of the tool's output.</summary>
    public static List<ConntrackToolLine> ParseAll(string output)
    {
        var lines = new List<ConntrackToolLine>();
        foreach (string line in output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            lines.Add(Parse(line));
        return lines;
    }

    // ipv4 2 tcp 6 199 ESTABLISHED src=.. dst=.. sport=.. dport=.. [UNREPLIED] src=.. dst=.. sport=.. dport=.. [ASSURED] mark=0 zone=5 use=1
    private static ConntrackToolLine Parse(string line)
    {
        string[] t = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        byte proto = byte.Parse(t[3], CultureInfo.InvariantCulture);
        uint timeout = uint.Parse(t[4], CultureInfo.InvariantCulture);
        string? state = t[5].Contains('=', StringComparison.Ordinal) ? null : t[5];
        var dirs = new[] { new Dictionary<string, string>(), new Dictionary<string, string>() };
        int dir = -1;
        bool unreplied = false, assured = false;
        uint mark = 0;
        ushort zone = 0;
        foreach (string token in t.AsSpan(5))
        {
            if (token == "[UNREPLIED]") { unreplied = true; continue; }
            if (token == "[ASSURED]") { assured = true; continue; }
            int eq = token.IndexOf('=', StringComparison.Ordinal);
            if (eq < 0)
                continue;
            string key = token[..eq], value = token[(eq + 1)..];
            if (key == "src")
                dir++;
            if (key == "mark") mark = uint.Parse(value, CultureInfo.InvariantCulture);
            else if (key == "zone") zone = ushort.Parse(value, CultureInfo.InvariantCulture);
            else if (dir is 0 or 1 && !dirs[dir].ContainsKey(key)) dirs[dir][key] = value;
        }
        return new ConntrackToolLine(Tuple(dirs[0], proto), Tuple(dirs[1], proto), timeout, state, unreplied, assured, mark, zone);
    }

    private static ConntrackTuple Tuple(Dictionary<string, string> d, byte proto)
    {
        NetAddress src = NetAddress.Parse(d["src"]), dst = NetAddress.Parse(d["dst"]);
        ushort U16(string k) => ushort.Parse(d[k], CultureInfo.InvariantCulture);
        byte U8(string k) => byte.Parse(d[k], CultureInfo.InvariantCulture);
        return proto is IpProtocol.Icmp or IpProtocol.IcmpV6
            ? ConntrackTuple.Icmp(src, dst, U16("id"), U8("type"), U8("code"))
            : new ConntrackTuple(src, dst, proto, U16("sport"), U16("dport"));
    }
}
