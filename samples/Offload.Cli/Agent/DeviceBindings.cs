using Offload.Kernel.PacketIo;
using Offload.Kernel.Rtnetlink;
using Offload.Policy;
using Offload.Switching;

namespace Offload.Cli.Agent;

/// <summary>
/// Turns <c>--port NAME=IF</c>, <c>--uplink IF</c> and <c>--devices</c> into checked <see cref="DeviceBinding"/>s before
/// the agent starts: each port must be a local port of the policy, each interface must exist in the agent's network
/// namespace, neither may be bound twice, and the process must be allowed to open packet sockets.
/// </summary>
internal static class DeviceBindings
{
    public static IReadOnlyList<DeviceBinding> Resolve(IReadOnlyList<string> ports, string? uplink, bool fromPolicy, PolicySnapshot policy)
    {
        var bindings = new List<DeviceBinding>();
        foreach (string text in ports)
        {
            int eq = text.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || eq == text.Length - 1)
                throw new CliException($"--port '{text}': expected <port>=<interface>, e.g. vm1=vnet-vm1", CliException.BadArguments);
            Add(bindings, new DeviceBinding(text[..eq].Trim(), text[(eq + 1)..].Trim()), $"--port {text}");
        }
        if (uplink is not null)
        {
            if (string.IsNullOrWhiteSpace(uplink))
                throw new CliException("--uplink: name the underlay interface", CliException.BadArguments);
            Add(bindings, new DeviceBinding(PortRegistry.UplinkName, uplink.Trim()), $"--uplink {uplink}");
        }
        if (fromPolicy)
        {
            // The policy's interface names fill in what the command line did not name.
            foreach (var port in policy.Ports)
            {
                if (policy.IsLocal(port) && port.Interface is { } device && !bindings.Exists(b => b.PortName == port.Name))
                    Add(bindings, new DeviceBinding(port.Name, device), $"--devices (port {port.Name}, interface: {device})");
            }
            if (policy.Host.Uplink is { } up && !bindings.Exists(b => b.PortName == PortRegistry.UplinkName))
                Add(bindings, new DeviceBinding(PortRegistry.UplinkName, up), $"--devices (host.uplink: {up})");
            if (bindings.Count == 0)
                throw new CliException("--devices: the policy names no interface for its local ports and no host.uplink", CliException.BadArguments);
        }
        if (bindings.Count == 0)
            return bindings;
        if (!OperatingSystem.IsLinux())
            throw new CliException("device I/O (--port, --uplink, --devices) needs Linux (AF_PACKET sockets)");
        foreach (var binding in bindings)
            CheckPort(binding, policy);
        CheckInterfaces(bindings);
        CheckPermission();
        return bindings;
    }

    private static void Add(List<DeviceBinding> bindings, DeviceBinding binding, string origin)
    {
        if (binding.PortName.Length == 0 || binding.InterfaceName.Length == 0)
            throw new CliException($"{origin}: expected <port>=<interface>", CliException.BadArguments);
        if (bindings.Find(b => b.PortName == binding.PortName) is { } samePort)
            throw new CliException($"{origin}: port {binding.PortName} is bound to {samePort.InterfaceName} already", CliException.BadArguments);
        if (bindings.Find(b => b.InterfaceName == binding.InterfaceName) is { } sameDevice)
            throw new CliException($"{origin}: interface {binding.InterfaceName} is bound to port {sameDevice.PortName} already", CliException.BadArguments);
        bindings.Add(binding);
    }

    private static void CheckPort(DeviceBinding binding, PolicySnapshot policy)
    {
        if (binding.PortName == PortRegistry.UplinkName)
            return;
        foreach (var port in policy.Ports)
        {
            if (port.Name == binding.PortName)
            {
                if (!policy.IsLocal(port))
                    throw new CliException($"--port {binding.PortName}={binding.InterfaceName}: port {port.Name} runs on host {port.Host}, not on this host ({policy.Host.Name})", CliException.BadArguments);
                return;
            }
        }
        var local = policy.Ports.Where(policy.IsLocal).Select(p => p.Name).ToList();
        throw new CliException($"--port {binding.PortName}={binding.InterfaceName}: the policy has no port '{binding.PortName}' " +
            $"(local ports: {(local.Count == 0 ? "none" : string.Join(", ", local))}; the underlay is --uplink)", CliException.BadArguments);
    }

    private static void CheckInterfaces(List<DeviceBinding> bindings)
    {
        IReadOnlyList<LinkInfo> links;
        try
        {
            using var client = RtnetlinkClient.Open();
            links = client.ListLinks();
        }
        catch (Exception ex) when (ex is IOException or Kernel.Netlink.NetlinkException)
        {
            throw new CliException($"cannot list network interfaces: {ex.Message}");
        }
        foreach (var binding in bindings)
        {
            if (!links.Any(l => l.Name == binding.InterfaceName))
            {
                string what = binding.PortName == PortRegistry.UplinkName ? "--uplink" : $"--port {binding.PortName}=…";
                throw new CliException($"{what}: no network interface named '{binding.InterfaceName}' in this network namespace " +
                    $"(interfaces: {string.Join(", ", links.Select(l => l.Name))})");
            }
        }
    }

    // Packet sockets need CAP_NET_RAW: root has it; anyone else is asked by trying, so a capability granted to the
    // binary is enough.
    private static void CheckPermission()
    {
        if (Environment.IsPrivilegedProcess)
            return;
        try
        {
            PacketSocket.Open(1).Dispose();
        }
        catch (IOException ex) when (ex.HResult is 1 or 13) // EPERM, EACCES
        {
            throw new CliException("device I/O (--port, --uplink, --devices) needs root or CAP_NET_RAW to open packet sockets: run the agent as root");
        }
        catch (IOException)
        {
            // Not a permission problem (e.g. no loopback index 1); the real attach will say what is wrong.
        }
    }

    public static string Describe(IReadOnlyList<DeviceBinding> bindings) =>
        string.Join(", ", bindings.Select(b => $"{b.PortName}={b.InterfaceName}"));
}
