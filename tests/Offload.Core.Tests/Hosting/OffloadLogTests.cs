using System.Reflection;
using Microsoft.Extensions.Logging;
using Offload.Hosting;

namespace Offload.Tests.Hosting;

public class OffloadLogTests
{
    // Operators alert on these ids: changing one is a breaking change, so the full list is pinned here.
    [Fact]
    public void EventIds_AllMessages_AreUniqueAndPinned()
    {
        var ids = typeof(OffloadLog).GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Select(m => m.GetCustomAttribute<LoggerMessageAttribute>())
            .Where(a => a is not null)
            .ToDictionary(a => a!.EventId, a => a!.EventName);

        ids.Should().Equal(new Dictionary<int, string?>
        {
            [1001] = "Starting", [1002] = "Started", [1003] = "StartFailed", [1004] = "Stopped",
            [2001] = "PolicyApplied", [2002] = "PolicyRejected",
            [3001] = "BackendFallback", [3002] = "BackendHealthChanged",
            [4001] = "PollFailed",
        });
    }
}
