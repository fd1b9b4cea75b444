using System.CommandLine;
using Offload.Cli.Output;
using Offload.Cli.Replay;

namespace Offload.Cli.Commands;

/// <summary>
/// <c>offload flows</c>, <c>offload conntrack</c>, <c>offload stats</c>. Until the host agent runs a live switch they
/// replay a capture and print the table as it stands at the end of it.
/// </summary>
internal static class TableCommands
{
    private const string ReplayNote = " Replays --pcap through a switch for --policy and prints the table at the end of the capture " +
        "(with the host agent, 'offload run', these will show the live switch).";

    public static Command CreateFlows() => Create("flows",
        "Dump the fast-path flow table like 'ovs-appctl dpctl/dump-flows': in_port, vni, 7-tuple, packets, bytes, used, actions." + ReplayNote,
        (session, output, json, _) => Tables.WriteFlows(output, session.Switch, session.Clock, json));

    public static Command CreateConntrack() => Create("conntrack",
        "List tracked connections like 'conntrack -L': protocol, timeout, state, both tuples with packets and bytes, [ASSURED], zone (VNI)." + ReplayNote,
        (session, output, json, _) => Tables.WriteConntrack(output, session.Switch, json));

    public static Command CreateStats() => Create("stats",
        "Print the switch's counters: frames, fast and slow path, forwarded and dropped, drops by reason, frames out per port, flows, connections." + ReplayNote,
        (session, output, json, counter) => Tables.WriteStats(output, session.Switch, counter.ByPort, json));

    private static Command Create(string name, string description, Action<ReplaySession, TextWriter, bool, OutputCounter> print)
    {
        var options = new ReplayOptions();
        var command = new Command(name, description);
        options.AddTo(command);
        command.SetAction(parse =>
        {
            string policyPath = parse.GetValue(options.Policy)!;
            var policy = PolicyFile.Load(policyPath, $"policy {policyPath}");
            var counter = new OutputCounter();
            using var session = ReplaySession.Run(policy, parse.GetValue(options.Pcap)!, _ => counter);
            using var stdout = Stdout.Open();
            print(session, stdout, parse.GetValue(options.Json), counter);
            return 0;
        });
        return command;
    }
}
