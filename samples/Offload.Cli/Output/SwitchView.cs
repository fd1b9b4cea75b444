using Offload.Backends.Software;
using Offload.Conntrack;
using Offload.Switching;

namespace Offload.Cli.Output;

/// <summary>
/// What the tables read from a switch: its datapath and its port names. A replayed <see cref="VirtualSwitch"/> and the
/// agent's hosted runtime both provide one, so both print the same rows.
/// </summary>
internal readonly record struct SwitchView(Datapath.Datapath Datapath, Func<ushort, string?> PortName)
{
    public SoftwareBackend Backend => Datapath.Backend;

    public ConntrackTable Conntrack => Datapath.Conntrack;

    public static implicit operator SwitchView(VirtualSwitch vswitch) => new(vswitch.Datapath, vswitch.PortName);
}
