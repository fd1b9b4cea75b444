using Offload.Doca.Flow;

namespace Offload.Doca.Tests.Flow;

internal sealed class RecordingSink : IDocaCompletionSink
{
    public List<DocaCompletion> Completions { get; } = [];

    public Exception? ThrowOnNext { get; set; }

    public void OnCompletion(in DocaCompletion completion)
    {
        Completions.Add(completion);
        if (ThrowOnNext is { } e)
        {
            ThrowOnNext = null;
            throw e;
        }
    }
}
