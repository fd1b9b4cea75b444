namespace Offload.Doca.Flow;

/// <summary>One completion (or aging report) delivered by <see cref="DocaFlow.ProcessCompletions"/> or <see cref="DocaFlow.HandleAging"/>.</summary>
/// <param name="Entry">The entry; after a successful <see cref="DocaEntryOperation.Remove"/> it must not be used again.</param>
/// <param name="Queue">The queue it was submitted on.</param>
/// <param name="Status">Success or error.</param>
/// <param name="Operation">What completed.</param>
/// <param name="Cookie">The caller's value given at submission.</param>
public readonly record struct DocaCompletion(DocaEntry Entry, ushort Queue, DocaEntryStatus Status, DocaEntryOperation Operation, long Cookie);

/// <summary>Receives completions on the thread that called <see cref="DocaFlow.ProcessCompletions"/>; must not block.</summary>
public interface IDocaCompletionSink
{
    /// <summary>Called once per completion, in the queue's FIFO order.</summary>
    void OnCompletion(in DocaCompletion completion);
}
