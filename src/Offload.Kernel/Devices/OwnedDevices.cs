using Offload.Kernel.Namespaces;
using Offload.Kernel.Netlink;
using Offload.Kernel.Rtnetlink;

namespace Offload.Kernel.Devices;

/// <summary>
/// The links one owner creates in one namespace. Every link made through it carries the ifalias
/// <c>offload:&lt;owner&gt;</c> (see <see cref="AliasPrefix"/>); opening sweeps links left with that alias by an earlier
/// run that crashed, and disposing deletes them all. Owner names must be unique per namespace (e.g. an agent id); two
/// live instances with one owner would delete each other's links. TAP devices made by <see cref="CreateTap"/> carry the
/// alias too, so disposing the owner removes them as well (their <see cref="TapDevice"/> then fails every read and
/// write); after a crash they need no sweeping, being non-persistent, they vanish with their process.
/// </summary>
public sealed class OwnedDevices : IDisposable
{
    /// <summary>The prefix of every alias this library sets; <c>ip -d link</c> shows it as <c>alias offload:&lt;owner&gt;</c>.</summary>
    public const string AliasPrefix = "offload:";
    private const int ENODEV = 19;

    private OwnedDevices(RtnetlinkClient client, string owner)
    {
        Client = client;
        Owner = owner;
        Alias = AliasPrefix + owner;
    }

    /// <summary>The owner name.</summary>
    public string Owner { get; }

    /// <summary>The ifalias of this owner's links.</summary>
    public string Alias { get; }

    /// <summary>The rtnetlink client of the namespace (for addresses, routes, neighbours on the owned links).</summary>
    public RtnetlinkClient Client { get; }

    /// <summary>The namespace (null: the caller's).</summary>
    public NetworkNamespace? Namespace => Client.Namespace;

    /// <summary>How many leftover links the opening sweep deleted.</summary>
    public int SweptAtOpen { get; private set; }

    /// <summary>Opens the owner's view of <paramref name="ns"/>; deletes the owner's leftovers unless <paramref name="sweep"/> is false.</summary>
    public static OwnedDevices Open(string owner, NetworkNamespace? ns = null, bool sweep = true)
    {
        ArgumentException.ThrowIfNullOrEmpty(owner);
        var devices = new OwnedDevices(RtnetlinkClient.Open(ns), owner);
        try
        {
            if (sweep)
                devices.SweptAtOpen = devices.Sweep();
        }
        catch
        {
            devices.Client.Dispose();
            throw;
        }
        return devices;
    }

    /// <summary>Deletes every link in the namespace whose alias is this owner's; returns how many.</summary>
    public int Sweep() => SweepWhere(Client, owner => owner == Owner);

    /// <summary>
    /// Deletes every link whose alias is <c>offload:&lt;owner&gt;</c> with <paramref name="isStale"/>(owner) true (e.g. an
    /// owner name that embeds a process id no longer running); returns how many.
    /// </summary>
    public static int SweepWhere(RtnetlinkClient client, Func<string, bool> isStale)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(isStale);
        int deleted = 0;
        foreach (LinkInfo link in client.ListLinks())
        {
            if (link.Alias is not { } alias || !alias.StartsWith(AliasPrefix, StringComparison.Ordinal) || !isStale(alias[AliasPrefix.Length..]))
                continue;
            try
            {
                client.DeleteLink(link.Index);
                deleted++;
            }
            catch (NetlinkException e) when (e.Errno == ENODEV)
            {
                // The other end of a veth pair deleted a moment ago.
            }
        }
        return deleted;
    }

    /// <summary>Marks an existing link as owned (sets the alias), so it is deleted on dispose; returns the index.</summary>
    public int Claim(int index)
    {
        Client.SetAlias(index, Alias);
        return index;
    }

    /// <summary>Creates an owned veth pair (see <see cref="RtnetlinkClient.CreateVeth"/>); deleting it removes the peer too.</summary>
    public int CreateVeth(string name, string peerName, NetworkNamespace? peerNamespace = null) =>
        ClaimOrDelete(Client.CreateVeth(name, peerName, peerNamespace));

    /// <summary>Creates an owned bridge.</summary>
    public int CreateBridge(string name) => ClaimOrDelete(Client.CreateBridge(name));

    /// <summary>Creates an owned VXLAN device.</summary>
    public int CreateVxlan(string name, VxlanOptions options) => ClaimOrDelete(Client.CreateVxlan(name, options));

    /// <summary>Creates a TAP device in this namespace carrying the owner's alias; the caller disposes it (disposing the owner deletes the device too).</summary>
    public TapDevice CreateTap(string name, int queues = 1) => TapDevice.Create(name, Namespace, queues, Alias);

    /// <summary>Deletes every owned link (TAPs included), then closes the client.</summary>
    public void Dispose()
    {
        try
        {
            Sweep();
        }
        finally
        {
            Client.Dispose();
        }
    }

    private int ClaimOrDelete(int index)
    {
        try
        {
            return Claim(index);
        }
        catch
        {
            Client.DeleteLink(index);
            throw;
        }
    }
}
