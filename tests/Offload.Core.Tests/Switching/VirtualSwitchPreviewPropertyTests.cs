using CsCheck;
using Offload.Classification;
using Offload.Packets;
using Offload.Policy;
using Offload.Switching;

namespace Offload.Tests.Switching;

public class VirtualSwitchPreviewPropertyTests
{
    /// <summary>
    /// For random policies, random traffic and a random valid change: the dry run's counts, and the connections it
    /// names as removed, are exactly what applying the change then does.
    /// </summary>
    [Fact]
    public void PreviewPolicy_RandomChange_PredictsApplyPolicy()
    {
        int changed = 0;
        Gen.Int.Sample(seed =>
        {
            var r = new Random(seed);
            var policy = RandomPolicies.Valid(r);
            using var sw = new PropertySwitch(policy);
            SendTraffic(r, policy, sw);
            var next = Mutate(r, policy, out string mutation);
            if (next is null)
                return;
            var before = sw.Switch.Conntrack.Snapshot().Select(c => c.Original).ToHashSet();

            var preview = sw.Switch.PreviewPolicy(next, maxSamples: int.MaxValue);
            var applied = sw.Switch.ApplyPolicy(next);

            string context = $"seed {seed}, change: {mutation}";
            (preview.Checked, preview.Updated, preview.Removed, preview.DropFlowsRemoved)
                .Should().Be((applied.Checked, applied.Updated, applied.Removed, applied.DropFlowsRemoved), context);
            var removed = preview.Samples.Where(s => s.Change == PolicyPreviewChange.Removed).Select(s => s.Original).ToHashSet();
            sw.Switch.Conntrack.Snapshot().Select(c => c.Original).Should().BeEquivalentTo(before.Where(k => !removed.Contains(k)), context);
            if (!preview.IsNoOp)
                Interlocked.Increment(ref changed);
        }, iter: 40);
        changed.Should().BeGreaterThan(5, "most random changes affect some connection");
    }

    private static void SendTraffic(Random r, PolicySnapshot policy, PropertySwitch sw)
    {
        var locals = policy.Ports.Where(RandomPolicies.IsLocal).ToList();
        ushort srcPort = 30000;
        foreach (var from in locals)
        {
            for (int i = 0; i < 4; i++)
            {
                NetAddress dst = r.Next(3) switch
                {
                    0 when policy.LoadBalancers.Length > 0 => policy.LoadBalancers[r.Next(policy.LoadBalancers.Length)].Vip,
                    1 => RandomPolicies.PublicAddresses[r.Next(RandomPolicies.PublicAddresses.Length)],
                    _ => policy.Ports[r.Next(policy.Ports.Length)].Ip,
                };
                var lb = policy.LoadBalancers.FirstOrDefault(l => l.Vip == dst);
                byte protocol = lb?.Protocol ?? (r.Next(2) == 0 ? IpProtocol.Tcp : IpProtocol.Udp);
                ushort dstPort = lb?.Port ?? (ushort)(r.Next(4) switch { 0 => 22, 1 => 80, 2 => 443, _ => 53 });
                var packet = new TestPacket(protocol, from.Ip, srcPort++, dst, dstPort, from.Mac, RandomPolicies.GatewayMac, Syn: protocol == IpProtocol.Tcp);
                sw.Send(new Input(from.Name, packet.ToFrame(), packet.ToString()));
            }
        }
        sw.Switch.Poll();
    }

    private static PolicySnapshot? Mutate(Random r, PolicySnapshot p, out string description)
    {
        for (int attempt = 0; attempt < 10; attempt++)
        {
            PolicySnapshot next;
            switch (r.Next(7))
            {
                case 0:
                    var rule = RandomPolicies.RandomRule(r, 2000 + attempt, RuleAction.Deny, p.Networks, p.Ports);
                    next = p with { Acl = p.Acl with { Rules = p.Acl.Rules.Add(rule) } };
                    description = $"add {rule}";
                    break;
                case 1 when p.Ports.Length > 1:
                    var gone = p.Ports[r.Next(p.Ports.Length)];
                    next = p with { Ports = p.Ports.Remove(gone) };
                    description = $"remove port {gone.Name}";
                    break;
                case 2 when p.Ports.Length > 0:
                    int i = r.Next(p.Ports.Length);
                    next = p with { Ports = p.Ports.SetItem(i, p.Ports[i] with { Mac = RandomPolicies.PortMac(900 + i) }) };
                    description = $"new MAC for {p.Ports[i].Name}";
                    break;
                case 3:
                    var mode = p.Acl.Mode == AclMode.DenyList ? AclMode.AllowList : AclMode.DenyList;
                    next = p with { Acl = p.Acl with { Mode = mode } };
                    description = $"acl mode {mode}";
                    break;
                case 4:
                    next = p with { Snat = [] };
                    description = "no SNAT";
                    break;
                case 5 when p.LoadBalancers.Length > 0:
                    next = p with { LoadBalancers = p.LoadBalancers.RemoveAt(0) };
                    description = $"remove load balancer {p.LoadBalancers[0].Name}";
                    break;
                default:
                    next = p with { Peerings = [] };
                    description = "no peerings";
                    break;
            }
            if (RandomPolicies.IsValid(next))
                return next;
        }
        description = "";
        return null;
    }
}
