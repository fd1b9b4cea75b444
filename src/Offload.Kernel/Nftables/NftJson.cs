using System.Text.Json;
using Offload.Packets;
using Offload.Policy;

namespace Offload.Kernel.Nftables;

/// <summary>
/// Writers for the pieces of libnftables' JSON schema (libnftables-json(5)) the ruleset generator uses. Each writes
/// one JSON value.
/// </summary>
internal static class NftJson
{
    public static void Meta(Utf8JsonWriter w, string key)
    {
        w.WriteStartObject();
        w.WriteStartObject("meta");
        w.WriteString("key", key);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    public static void Payload(Utf8JsonWriter w, string protocol, string field)
    {
        w.WriteStartObject();
        w.WriteStartObject("payload");
        w.WriteString("protocol", protocol);
        w.WriteString("field", field);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>A conntrack key of the original direction ("ip daddr", "proto-dst").</summary>
    public static void CtOriginal(Utf8JsonWriter w, string key)
    {
        w.WriteStartObject();
        w.WriteStartObject("ct");
        w.WriteString("key", key);
        w.WriteString("dir", "original");
        w.WriteEndObject();
        w.WriteEndObject();
    }

    public static void Prefix(Utf8JsonWriter w, Prefix prefix)
    {
        if (prefix.Length == (prefix.IsV4 ? 32 : 128))
        {
            w.WriteStringValue(prefix.Address.ToString());
            return;
        }
        w.WriteStartObject();
        w.WriteStartObject("prefix");
        w.WriteString("addr", prefix.Address.ToString());
        w.WriteNumber("len", prefix.Length);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>A port set: one number, or an anonymous set of numbers and ranges.</summary>
    public static void Ports(Utf8JsonWriter w, PortSet ports)
    {
        if (ports.Ranges.Length == 1 && ports.Ranges[0].Lo == ports.Ranges[0].Hi)
        {
            w.WriteNumberValue(ports.Ranges[0].Lo);
            return;
        }
        w.WriteStartObject();
        w.WriteStartArray("set");
        foreach (PortRange r in ports.Ranges)
            Range(w, r.Lo, r.Hi);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    public static void Range(Utf8JsonWriter w, int lo, int hi)
    {
        if (lo == hi)
        {
            w.WriteNumberValue(lo);
            return;
        }
        w.WriteStartObject();
        w.WriteStartArray("range");
        w.WriteNumberValue(lo);
        w.WriteNumberValue(hi);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>"left op right" where the right side is written by <paramref name="right"/>.</summary>
    public static void Match(Utf8JsonWriter w, string op, Action<Utf8JsonWriter> left, Action<Utf8JsonWriter> right)
    {
        w.WriteStartObject();
        w.WriteStartObject("match");
        w.WriteString("op", op);
        w.WritePropertyName("left");
        left(w);
        w.WritePropertyName("right");
        right(w);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    public static void Match(Utf8JsonWriter w, string op, Action<Utf8JsonWriter> left, string right) =>
        Match(w, op, left, x => x.WriteStringValue(right));

    public static void Concat(Utf8JsonWriter w, params Action<Utf8JsonWriter>[] parts)
    {
        w.WriteStartObject();
        w.WriteStartArray("concat");
        foreach (Action<Utf8JsonWriter> part in parts)
            part(w);
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>A statement with no argument: <c>{"accept": null}</c>, <c>{"drop": null}</c>, <c>{"return": null}</c>.</summary>
    public static void Verdict(Utf8JsonWriter w, string verdict)
    {
        w.WriteStartObject();
        w.WriteNull(verdict);
        w.WriteEndObject();
    }

    /// <summary>A jump or goto, as a statement or as the data of a verdict-map element.</summary>
    public static void Jump(Utf8JsonWriter w, string kind, string chain)
    {
        w.WriteStartObject();
        w.WriteStartObject(kind);
        w.WriteString("target", chain);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    public static void Counter(Utf8JsonWriter w)
    {
        w.WriteStartObject();
        w.WriteNull("counter");
        w.WriteEndObject();
    }

    public static void Log(Utf8JsonWriter w, string prefix, ushort group)
    {
        w.WriteStartObject();
        w.WriteStartObject("log");
        w.WriteString("prefix", prefix);
        w.WriteNumber("group", group);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary><c>key vmap @map</c>.</summary>
    public static void VerdictMap(Utf8JsonWriter w, Action<Utf8JsonWriter> key, string map)
    {
        w.WriteStartObject();
        w.WriteStartObject("vmap");
        w.WritePropertyName("key");
        key(w);
        w.WriteString("data", "@" + map);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    public static void Address(Utf8JsonWriter w, NetAddress address) => w.WriteStringValue(address.ToString());

    /// <summary>The IP family keyword of payload expressions for an address family.</summary>
    public static string IpProtocolName(bool v4) => v4 ? "ip" : "ip6";

    /// <summary>The L4 protocol as nft names it (numbers for the rest, which nft accepts as well).</summary>
    public static void L4Protocol(Utf8JsonWriter w, byte protocol)
    {
        switch (protocol)
        {
            case IpProtocol.Tcp: w.WriteStringValue("tcp"); break;
            case IpProtocol.Udp: w.WriteStringValue("udp"); break;
            case IpProtocol.Icmp: w.WriteStringValue("icmp"); break;
            case IpProtocol.IcmpV6: w.WriteStringValue("ipv6-icmp"); break;
            default: w.WriteNumberValue(protocol); break;
        }
    }
}
