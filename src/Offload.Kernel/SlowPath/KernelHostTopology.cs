using Offload.Kernel.Devices;
using Offload.Kernel.Namespaces;
using Offload.Kernel.Netlink;
using Offload.Kernel.Nftables;
using Offload.Packets;
using Offload.Policy;

namespace Offload.Kernel.SlowPath;

/// <summary>
/// The devices, routes, neighbours and nftables ruleset that make a network namespace route a policy's traffic the way
/// the virtual switch does (routed, no bridge): each local VM port has an emulated NIC (a TAP) with a /32 (/128) route
/// and a permanent neighbour entry to the VM; each network has a tunnel TAP carrying the routes to that network's
/// ports on other hosts (a peered network's remote ports are reached through their own network's tunnel TAP); the
/// uplink TAP has the default route through a gateway neighbour for SNAT'd public traffic. Every TAP has the policy's
/// gateway MAC, so the frames the kernel forwards carry the router MAC the VMs expect and the frames written in
/// (addressed to that MAC) are taken as the host's. The namespace forwards (IPv4 and IPv6) with reverse-path
/// filtering off, since routes are per VM and asymmetric by design.
/// </summary>
/// <remarks>
/// Device names follow <see cref="KernelInterfaceNames"/>. The devices belong to <see cref="OwnedDevices"/> with the
/// given owner: building sweeps what a crashed run of the same owner left; <see cref="Dispose"/> removes the devices
/// (and with them their routes and neighbours) and the ruleset's table. Not thread-safe: one caller applies policies.
/// IPv6 gets host routes and neighbours but no default route (public traffic is IPv4 SNAT only).
/// The forwarding and rp_filter settings are the namespace's (with a null namespace, the caller's: host-wide).
/// If the kernel refuses something half-way through <see cref="Apply"/>, the devices and routes done so far stay
/// (and are tracked, so the next Apply or Dispose finishes or undoes them), while <see cref="Policy"/>,
/// <see cref="Topology"/>, <see cref="Ports"/> and <see cref="Tunnels"/> still describe the previous policy.
/// </remarks>
public sealed class KernelHostTopology : IDisposable
{
    private readonly OwnedDevices _owned;
    private readonly Dictionary<string, TapDevice> _devices = new(StringComparer.Ordinal);
    private readonly HashSet<HostRoute> _routes = [];
    private Dictionary<string, TapDevice> _ports = new(StringComparer.Ordinal);
    private Dictionary<string, TapDevice> _tunnels = new(StringComparer.Ordinal);
    private MacAddress _routerMac;
    private MacAddress _uplinkMac;
    private bool _disposed;

    private KernelHostTopology(OwnedDevices owned, PolicySnapshot policy)
    {
        _owned = owned;
        Policy = policy;
        Topology = new KernelTopology();
    }

    /// <summary>
    /// Link-local next hop of the uplink's default route; its neighbour entry is the policy's gateway MAC, so public
    /// frames leave addressed to the host's router.
    /// </summary>
    public static NetAddress UplinkGateway { get; } = NetAddress.Parse("169.254.0.1");

    /// <summary>The namespace (null: the caller's).</summary>
    public NetworkNamespace? Namespace => _owned.Namespace;

    /// <summary>The owner name of the devices (their ifalias is <c>offload:&lt;owner&gt;</c>).</summary>
    public string Owner => _owned.Owner;

    /// <summary>The policy last applied.</summary>
    public PolicySnapshot Policy { get; private set; }

    /// <summary>The device names of the policy last applied, as the ruleset sees them.</summary>
    public KernelTopology Topology { get; private set; }

    /// <summary>The ruleset last applied (libnftables JSON from <see cref="NftablesRulesetGenerator"/>).</summary>
    public string Ruleset { get; private set; } = "";

    /// <summary>The MAC of every TAP (the policy's gateway MAC, else the host's underlay MAC).</summary>
    public MacAddress RouterMac => _routerMac;

    /// <summary>Emulated NIC of each local port, by port name: write the VM's frames in, read what the kernel sends it.</summary>
    public IReadOnlyDictionary<string, TapDevice> Ports => _ports;

    /// <summary>Tunnel device of each network, by network name: carries inner frames to and from remote ports.</summary>
    public IReadOnlyDictionary<string, TapDevice> Tunnels => _tunnels;

    /// <summary>The uplink device; null when the policy's host has no uplink.</summary>
    public TapDevice? Uplink { get; private set; }

    /// <summary>
    /// Creates the devices, routes, neighbours and ruleset of <paramref name="policy"/> in <paramref name="ns"/> (null:
    /// the caller's namespace), after sweeping links a crashed run of <paramref name="owner"/> left there.
    /// </summary>
    /// <exception cref="ArgumentException">Two derived device names collide, or the ruleset cannot be generated.</exception>
    /// <exception cref="NetlinkException">The kernel refused a device, route or neighbour.</exception>
    /// <exception cref="NftablesException">The kernel refused the ruleset.</exception>
    public static KernelHostTopology Build(PolicySnapshot policy, NetworkNamespace? ns, string owner)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentException.ThrowIfNullOrEmpty(owner);
        OwnedDevices owned = OwnedDevices.Open(owner, ns);
        var topology = new KernelHostTopology(owned, policy);
        try
        {
            NetworkNamespace.RunIn(ns, () =>
            {
                // "default" before any device exists, so every TAP starts with rp_filter off; "all" because the
                // effective value is the maximum of "all" and the device's.
                WriteSysctl("net/ipv4/conf/all/rp_filter", "0");
                WriteSysctl("net/ipv4/conf/default/rp_filter", "0");
                WriteSysctl("net/ipv4/ip_forward", "1");
                WriteSysctl("net/ipv6/conf/all/forwarding", "1");
                return 0;
            });
            topology.Apply(policy);
            // The kernel never sees the segments the fast path carries, so its window tracking would find a punted
            // FIN/RST far out of window and mark it invalid; liberal tracking takes it. After the ruleset: the sysctl
            // exists once conntrack is loaded (per namespace).
            NetworkNamespace.RunIn(ns, () =>
            {
                WriteSysctl("net/netfilter/nf_conntrack_tcp_be_liberal", "1");
                return 0;
            });
            return topology;
        }
        catch
        {
            topology.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reconciles the namespace with <paramref name="next"/>: removes the routes and devices of ports and networks that
    /// went away (or moved), creates the new ones, then replaces the ruleset in one atomic batch. The ruleset is
    /// generated before anything changes, so a policy it cannot express changes nothing.
    /// </summary>
    /// <exception cref="ArgumentException">Two derived device names collide, or the ruleset cannot be generated.</exception>
    /// <exception cref="NetlinkException">The kernel refused a device, route or neighbour.</exception>
    /// <exception cref="NftablesException">The kernel refused the ruleset.</exception>
    public void Apply(PolicySnapshot next)
    {
        ArgumentNullException.ThrowIfNull(next);
        ObjectDisposedException.ThrowIf(_disposed, this);
        HostPlan plan = HostPlan.Of(next, Owner);
        string ruleset = NftablesRulesetGenerator.Generate(next, plan.Topology);

        foreach (HostRoute route in _routes.ToArray())
        {
            if (plan.Routes.Contains(route))
                continue;
            if (!plan.Devices.ContainsKey(route.Device))
            {
                _routes.Remove(route);
                continue; // the device goes, and its routes with it
            }
            DeleteRoute(route);
            _routes.Remove(route);
        }
        foreach ((string name, TapDevice tap) in _devices.ToArray())
        {
            if (plan.Devices.ContainsKey(name))
                continue;
            RemoveDevice(tap);
            _devices.Remove(name);
        }
        if (Uplink is not null && !_devices.ContainsKey(Uplink.Name))
            Uplink = null;

        if (plan.RouterMac != _routerMac)
        {
            foreach (TapDevice tap in _devices.Values)
            {
                if (!ReferenceEquals(tap, Uplink))
                    tap.SetMac(plan.RouterMac);
            }
            if (Uplink is not null)
                _owned.Client.AddNeighbour(Uplink.Index, UplinkGateway, plan.RouterMac);
            _routerMac = plan.RouterMac;
        }
        if (Uplink is not null && plan.UplinkMac != _uplinkMac)
            Uplink.SetMac(plan.UplinkMac);
        _uplinkMac = plan.UplinkMac;
        foreach ((string name, HostDeviceKind kind) in plan.Devices)
        {
            if (_devices.ContainsKey(name))
                continue;
            TapDevice tap = _owned.CreateTap(name);
            _devices[name] = tap;
            // Frames the kernel routes to a VM or a tunnel come from the router MAC VMs expect; public frames leave
            // the uplink from the host's own underlay MAC towards the gateway (the policy slow path writes the same).
            tap.SetMac(kind == HostDeviceKind.Uplink ? plan.UplinkMac : plan.RouterMac);
            tap.SetUp();
            if (kind == HostDeviceKind.Uplink)
            {
                // The gateway is on-link through its own /32, then the default route can name it.
                _owned.Client.AddRoute(UplinkGateway, 32, tap.Index);
                _owned.Client.AddNeighbour(tap.Index, UplinkGateway, plan.RouterMac);
                _owned.Client.AddRoute(NetAddress.FromV4(0), 0, tap.Index, UplinkGateway);
                Uplink = tap;
            }
        }
        foreach (HostRoute route in plan.Routes)
        {
            if (_routes.Contains(route))
                continue;
            int index = _devices[route.Device].Index;
            _owned.Client.AddRoute(route.Address, route.PrefixLength, index);
            _owned.Client.AddNeighbour(index, route.Address, route.Mac);
            _routes.Add(route);
        }

        NetworkNamespace.RunIn(Namespace, () =>
        {
            using NftablesContext nft = NftablesContext.Create(json: true);
            return nft.Run(ruleset);
        });

        _ports = plan.Topology.PortInterfaces.ToDictionary(p => p.Key, p => _devices[p.Value], StringComparer.Ordinal);
        _tunnels = plan.Topology.TunnelInterfaces.ToDictionary(t => t.Key, t => _devices[t.Value], StringComparer.Ordinal);
        Topology = plan.Topology;
        Ruleset = ruleset;
        Policy = next;
    }

    // Closing the descriptor alone removes the TAP only once no process holds it: a child forked by any thread of this
    // process (Process.Start) holds it until its exec, so the link could outlive Apply. Deleting it is immediate.
    private void RemoveDevice(TapDevice tap)
    {
        try
        {
            _owned.Client.DeleteLink(tap.Index);
        }
        catch (NetlinkException)
        {
            // already gone: what we want
        }
        tap.Dispose();
    }

    private void DeleteRoute(HostRoute route)
    {
        if (!_devices.TryGetValue(route.Device, out TapDevice? tap))
            return;
        // Already gone (e.g. removed by hand) is the state we want, so a refusal here is not an error.
        try
        {
            _owned.Client.DeleteNeighbour(tap.Index, route.Address);
        }
        catch (NetlinkException)
        {
        }
        try
        {
            _owned.Client.DeleteRoute(route.Address, route.PrefixLength, tap.Index);
        }
        catch (NetlinkException)
        {
        }
    }

    private static void WriteSysctl(string key, string value) => File.WriteAllText("/proc/sys/" + key, value);

    /// <summary>Removes the ruleset's table and every device (their routes and neighbours go with them).</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        string table = Topology.TableName;
        try
        {
            NetworkNamespace.RunIn(Namespace, () =>
            {
                using NftablesContext nft = NftablesContext.Create();
                try
                {
                    return nft.Run($"delete table {NftablesRulesetGenerator.Family} {table}");
                }
                catch (NftablesException)
                {
                    return ""; // never applied: no table
                }
            });
        }
        finally
        {
            foreach (TapDevice tap in _devices.Values)
                RemoveDevice(tap);
            _devices.Clear();
            _owned.Dispose();
        }
    }
}
