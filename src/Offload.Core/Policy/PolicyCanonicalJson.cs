using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Offload.Actions;
using Offload.Datapath;
using Offload.Packets;

namespace Offload.Policy;

/// <summary>
/// Writes a snapshot as JSON in the document's key order with every default filled in, so that the bytes depend
/// on the content only: the basis of <see cref="PolicySnapshot.Digest"/>.
/// </summary>
internal static class PolicyCanonicalJson
{
    internal static string Write(PolicySnapshot s) => Encoding.UTF8.GetString(Bytes(s).WrittenSpan);

    internal static string Digest(PolicySnapshot s) => Convert.ToHexStringLower(SHA256.HashData(Bytes(s).WrittenSpan));

    private static ArrayBufferWriter<byte> Bytes(PolicySnapshot s)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartObject("host");
            w.WriteString("name", s.Host.Name);
            Underlay(w, s.Host.Underlay);
            w.WriteString("gatewayMac", s.Host.GatewayMac?.ToString());
            w.WriteString("uplink", s.Host.Uplink);
            w.WriteEndObject();

            w.WriteStartArray("hosts");
            foreach (var h in s.Hosts)
            {
                w.WriteStartObject();
                w.WriteString("name", h.Name);
                Underlay(w, h.Underlay);
                w.WriteEndObject();
            }
            w.WriteEndArray();

            w.WriteStartArray("networks");
            foreach (var n in s.Networks)
            {
                w.WriteStartObject();
                w.WriteString("name", n.Name);
                w.WriteNumber("vni", n.Vni);
                w.WriteString("cidr", n.Cidr.ToString());
                w.WriteString("cidr6", n.Cidr6.IsNone ? null : n.Cidr6.ToString());
                w.WriteString("tunnel", n.Tunnel == TunnelType.Gre ? "gre" : "vxlan");
                w.WriteEndObject();
            }
            w.WriteEndArray();

            w.WriteStartArray("peerings");
            foreach (var p in s.Peerings)
            {
                w.WriteStartArray();
                w.WriteStringValue(p.First);
                w.WriteStringValue(p.Second);
                w.WriteEndArray();
            }
            w.WriteEndArray();

            w.WriteStartArray("ports");
            foreach (var p in s.Ports)
            {
                w.WriteStartObject();
                w.WriteString("name", p.Name);
                w.WriteString("network", p.Network);
                w.WriteString("mac", p.Mac.ToString());
                w.WriteString("ip", p.Ip.ToString());
                w.WriteString("ipv6", p.Ipv6?.ToString());
                w.WriteString("host", p.Host);
                w.WriteString("interface", p.Interface);
                w.WriteEndObject();
            }
            w.WriteEndArray();

            w.WriteStartObject("acl");
            w.WriteString("mode", PolicyNames.Name(s.Acl.Mode));
            w.WriteStartArray("rules");
            foreach (var r in s.Acl.Rules)
            {
                w.WriteStartObject();
                w.WriteNumber("priority", r.Priority);
                w.WriteString("action", PolicyNames.Name(r.Action));
                w.WriteString("direction", PolicyNames.Name(r.Direction));
                w.WriteString("network", r.Network);
                Prefix(w, "src", r.Src);
                Prefix(w, "dst", r.Dst);
                Protocol(w, r.Protocol);
                w.WriteString("srcPorts", r.SrcPorts?.ToString());
                w.WriteString("dstPorts", r.DstPorts?.ToString());
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();

            w.WriteStartArray("securityGroups");
            foreach (var g in s.SecurityGroups)
            {
                w.WriteStartObject();
                w.WriteString("name", g.Name);
                w.WriteStartArray("ports");
                foreach (string p in g.Ports)
                    w.WriteStringValue(p);
                w.WriteEndArray();
                w.WriteString("inbound", PolicyNames.Name(g.Inbound));
                w.WriteStartArray("allowInbound");
                foreach (var r in g.AllowInbound)
                {
                    w.WriteStartObject();
                    Protocol(w, r.Protocol);
                    w.WriteString("dstPorts", r.DstPorts?.ToString());
                    Prefix(w, "src", r.Src);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();

            w.WriteStartArray("loadBalancers");
            foreach (var lb in s.LoadBalancers)
            {
                w.WriteStartObject();
                w.WriteString("name", lb.Name);
                w.WriteString("network", lb.Network);
                w.WriteString("vip", lb.Vip.ToString());
                w.WriteNumber("port", lb.Port);
                Protocol(w, lb.Protocol);
                w.WriteString("algorithm", PolicyNames.Name(lb.Algorithm));
                w.WriteStartArray("backends");
                foreach (var b in lb.Backends)
                {
                    w.WriteStartObject();
                    w.WriteString("ip", b.Ip.ToString());
                    w.WriteNumber("port", b.Port);
                    w.WriteNumber("weight", b.Weight);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteEndObject();
            }
            w.WriteEndArray();

            w.WriteStartArray("snat");
            foreach (var n in s.Snat)
            {
                w.WriteStartObject();
                w.WriteString("network", n.Network);
                w.WriteString("publicIp", n.PublicIp.ToString());
                w.WriteString("ports", n.Ports.ToString());
                w.WriteEndObject();
            }
            w.WriteEndArray();

            w.WriteStartArray("qos");
            foreach (var q in s.Qos)
            {
                w.WriteStartObject();
                w.WriteString("port", q.Port);
                w.WriteNumber("rateMbps", q.RateMbps);
                w.WriteNumber("burstKb", q.BurstKb);
                w.WriteEndObject();
            }
            w.WriteEndArray();

            var t = s.Conntrack.Timeouts;
            w.WriteStartObject("conntrack");
            w.WriteNumber("maxEntries", s.Conntrack.MaxEntries);
            w.WriteStartObject("timeouts");
            w.WriteNumber("tcpEstablished", t.TcpEstablished);
            w.WriteNumber("tcpSynSent", t.TcpSynSent);
            w.WriteNumber("tcpSynSent2", t.TcpSynSent2);
            w.WriteNumber("tcpSynRecv", t.TcpSynRecv);
            w.WriteNumber("tcpFinWait", t.TcpFinWait);
            w.WriteNumber("tcpCloseWait", t.TcpCloseWait);
            w.WriteNumber("tcpLastAck", t.TcpLastAck);
            w.WriteNumber("tcpTimeWait", t.TcpTimeWait);
            w.WriteNumber("tcpClose", t.TcpClose);
            w.WriteNumber("tcpUnacknowledged", t.TcpUnacknowledged);
            w.WriteNumber("tcpMaxRetrans", t.TcpMaxRetrans);
            w.WriteNumber("udp", t.Udp);
            w.WriteNumber("udpStream", t.UdpStream);
            w.WriteNumber("icmp", t.Icmp);
            w.WriteNumber("generic", t.Generic);
            w.WriteEndObject();
            w.WriteEndObject();

            w.WriteStartObject("offload");
            w.WriteString("when", s.Offload.When == OffloadTrigger.Established ? "established" : "first-packet");
            w.WriteNumber("minPackets", s.Offload.MinPackets);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return buffer;
    }

    private static void Underlay(Utf8JsonWriter w, UnderlayConfig? u)
    {
        w.WriteStartObject("underlay");
        w.WriteString("ip", u?.Ip.ToString());
        w.WriteString("mac", u?.Mac.ToString());
        w.WriteEndObject();
    }

    private static void Prefix(Utf8JsonWriter w, string name, Prefix p) => w.WriteString(name, p.IsNone ? null : p.ToString());

    private static void Protocol(Utf8JsonWriter w, byte? protocol) =>
        w.WriteString("protocol", protocol is { } p ? IpProtocol.Name(p) : "any");
}
