using Offload.Kernel.Rtnetlink;

namespace Offload.Kernel.Tests.Hosts;

/// <summary>Waits for links the tests just set up to become operational, so no test frame meets an inactive device.</summary>
public static class LinkWait
{
    /// <summary>Polls until <paramref name="name"/> is operationally up (IFLA_OPERSTATE, which the link watch sets right before it activates the device's queue); throws after 5 s.</summary>
    public static void UntilRunning(RtnetlinkClient client, string name)
    {
        ArgumentNullException.ThrowIfNull(client);
        for (int i = 0; i < 500; i++)
        {
            if (client.FindLink(name)?.OperState == LinkOperState.Up)
                return;
            Thread.Sleep(10);
        }
        throw new TimeoutException($"{name} did not become operational within 5 s");
    }
}
