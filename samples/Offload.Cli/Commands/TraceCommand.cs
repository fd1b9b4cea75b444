using System.CommandLine;
using Offload.Capture;
using Offload.Cli.Output;
using Offload.Cli.Replay;
using Offload.Datapath;

namespace Offload.Cli.Commands;

/// <summary><c>offload trace</c>: replays a capture through the switch and reports what happened to every frame.</summary>
internal static class TraceCommand
{
    public static Command Create()
    {
        var options = new ReplayOptions();
        var outFile = new Option<string>("--out")
        {
            Description = "Write every frame the switch sent (delivered, forwarded and ARP/ND answers, in order) to this classic pcap.",
            HelpName = "OUT.pcap",
        };
        var command = new Command("trace",
            "Replay a capture through the virtual switch (clock = the capture's timestamps) and print one result per input frame, " +
            "in order: ingress port, 7-tuple, fast or slow path, verdict, output port, headers as sent, tunnel, conntrack state, drop reason.");
        options.AddTo(command);
        command.Options.Add(outFile);
        command.SetAction(parse => Run(parse.GetValue(options.Policy)!, parse.GetValue(options.Pcap)!, parse.GetValue(options.Json), parse.GetValue(outFile)));
        return command;
    }

    private static int Run(string policyPath, string pcapPath, bool json, string? outPath)
    {
        var policy = PolicyFile.Load(policyPath, $"policy {policyPath}");
        PcapWriter? writer = null;
        if (outPath is not null)
        {
            try
            {
                writer = PcapWriter.Create(outPath);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new CliException($"cannot write {outPath}: {ex.Message}");
            }
        }
        using var stdout = Stdout.Open();
        try
        {
            using var session = ReplaySession.Run(policy, pcapPath, s => new TraceSink(s, stdout, json, writer));
        }
        finally
        {
            stdout.Flush();
            writer?.Dispose();
        }
        return 0;
    }

    private sealed class TraceSink(ReplaySession session, TextWriter output, bool json, PcapWriter? pcap) : IFrameSink
    {
        private readonly TraceFormatter _formatter = new();

        public void OnFrame(in FrameResult result, ReadOnlySpan<byte> frame)
        {
            var entry = TraceEntry.From(session.Switch, in result, frame, session.Now, session.CurrentLength);
            output.WriteLine(json ? _formatter.Json(entry) : TraceFormatter.Text(entry));
            if (pcap is not null && result.Verdict == Actions.ActionVerdict.Output)
                pcap.Write(session.Now, frame);
        }
    }
}
