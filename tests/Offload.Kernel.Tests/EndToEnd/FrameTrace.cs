using System.Diagnostics;
using Offload.Datapath;

namespace Offload.Kernel.Tests.EndToEnd;

/// <summary>
/// The last results a switch reported, one line each (time, port, tuple, path, verdict, reason, state): what a failed
/// end-to-end test prints, so a lost packet can be told apart from a dropped one.
/// </summary>
internal sealed class FrameTrace : IFrameSink
{
    private readonly string[] _lines;
    private readonly string _host;
    private long _next;

    public FrameTrace(string host, int capacity = 512)
    {
        _host = host;
        _lines = new string[capacity];
    }

    public void OnFrame(in FrameResult result, ReadOnlySpan<byte> frame)
    {
        string line = $"{Stopwatch.GetTimestamp() / (Stopwatch.Frequency / 1000),10}ms {_host} in={result.InPort} {result.Key} {result.Path} " +
            $"{result.Verdict} out={result.OutPort} {(result.Reason == DropReason.None ? "" : result.Reason.Name())} {result.State} len={frame.Length}" +
            (result.IsResponse ? " response" : "");
        lock (_lines)
            _lines[_next++ % _lines.Length] = line;
    }

    public override string ToString()
    {
        lock (_lines)
        {
            var text = new System.Text.StringBuilder();
            for (long i = Math.Max(0, _next - _lines.Length); i < _next; i++)
                text.AppendLine(_lines[i % _lines.Length]);
            return text.ToString();
        }
    }
}
