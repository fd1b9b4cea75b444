using System.Runtime.CompilerServices;
using Offload.Actions;
using Offload.Conntrack;
using Offload.Flows;

namespace Offload.Datapath;

// Results to the sink, and the counters behind DatapathStats.
public sealed partial class Datapath
{
    private void Emit(ref InputFrame frame, in FlowKey key, in ActionOutcome outcome, PacketPath path,
        ConnectionId connection, ConnState state, int timeout)
    {
        Count(outcome.Verdict, outcome.Reason);
        var result = new FrameResult
        {
            Cookie = frame.Cookie, InPort = frame.InPort, Key = key, Path = path, Verdict = outcome.Verdict,
            OutPort = outcome.OutPort, Reason = outcome.Reason, Connection = connection, State = state, TimeoutSeconds = timeout,
        };
        _sink.OnFrame(in result, frame.Buffer.Span);
    }

    private void EmitDrop(ref InputFrame frame, in FlowKey key, DropReason reason, PacketPath path,
        ConnectionId connection = default, ConnState state = default, int timeout = 0)
    {
        Count(ActionVerdict.Drop, reason);
        var result = new FrameResult
        {
            Cookie = frame.Cookie, InPort = frame.InPort, Key = key, Path = path, Verdict = ActionVerdict.Drop,
            Reason = reason, Connection = connection, State = state, TimeoutSeconds = timeout,
        };
        _sink.OnFrame(in result, frame.Buffer.Span);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Count(ActionVerdict verdict, DropReason reason)
    {
        _frames++;
        if (verdict == ActionVerdict.Output)
        {
            _forwarded++;
            return;
        }
        _dropped++;
        _dropsByReason[(byte)reason]++;
    }

    /// <summary>A snapshot of the counters.</summary>
    public DatapathStats GetStats()
    {
        var drops = new Dictionary<DropReason, long>();
        for (int i = 0; i < _dropsByReason.Length; i++)
        {
            long v = Volatile.Read(ref _dropsByReason[i]);
            if (v != 0)
                drops[(DropReason)i] = v;
        }
        return new DatapathStats
        {
            Frames = _frames, FastPathFrames = _fastFrames, SlowPathFrames = _slowFrames, Forwarded = _forwarded,
            Dropped = _dropped, DropsByReason = drops, FlowsInstalled = _flowsInstalled, FlowsRemoved = _flowsRemoved,
            FlowInstallFailures = _installFailures, FramesHeld = _framesHeld, Connections = _conntrack.Count, Flows = _offload.Count,
        };
    }
}
