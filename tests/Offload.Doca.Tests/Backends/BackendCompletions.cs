using Offload.Backends;

namespace Offload.Doca.Tests.Backends;

internal static class BackendCompletions
{
    /// <summary>Every completion the backend has ready now, in order (polls until it has none left).</summary>
    public static List<FlowCompletion> DrainAll(this FlowBackend backend)
    {
        var buffer = new FlowCompletion[256];
        var all = new List<FlowCompletion>();
        int n;
        while ((n = backend.PollCompletions(buffer)) > 0)
            all.AddRange(buffer.AsSpan(0, n).ToArray());
        return all;
    }
}
