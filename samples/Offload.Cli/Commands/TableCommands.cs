using System.CommandLine;
using System.Text.Json;
using Offload.Cli.Agent;
using Offload.Cli.Output;
using Offload.Cli.Replay;

namespace Offload.Cli.Commands;

/// <summary>
/// <c>offload flows</c>, <c>offload conntrack</c>, <c>offload stats</c>: the live switch of the running agent
/// (<c>offload run</c>) over its control socket, or, with <c>--pcap</c>, the table at the end of a replayed capture.
/// </summary>
internal static class TableCommands
{
    private const string ModeNote = " Asks the running agent ('offload run', --socket); with --pcap, replays the capture through a switch " +
        "for --policy instead and prints the table at the end of it.";

    public static Command CreateFlows() => Create("flows",
        "Dump the fast-path flow table like 'ovs-appctl dpctl/dump-flows': in_port, vni, 7-tuple, packets, bytes, used, actions." + ModeNote,
        (session, output, json, _) => Tables.WriteFlows(output, session.Switch, session.Clock, json));

    public static Command CreateConntrack() => Create("conntrack",
        "List tracked connections like 'conntrack -L': protocol, timeout, state, both tuples with packets and bytes, [ASSURED], zone (VNI)." + ModeNote,
        (session, output, json, _) => Tables.WriteConntrack(output, session.Switch, json));

    public static Command CreateStats() => Create("stats",
        "Print the switch's counters: frames, fast and slow path, forwarded and dropped, drops by reason, frames out per port, flows, connections." + ModeNote,
        (session, output, json, counter) => Tables.WriteStats(output, session.Switch, counter.ByPort, json));

    private static Command Create(string name, string description, Action<ReplaySession, TextWriter, bool, OutputCounter> print)
    {
        var policy = new Option<string>("--policy") { Description = "With --pcap: the policy YAML file to replay with.", HelpName = "P.yaml" };
        var pcap = new Option<string>("--pcap") { Description = "Replay this classic pcap (Ethernet) instead of asking the agent.", HelpName = "IN.pcap" };
        var json = new Option<bool>("--json") { Description = "JSON output: one object per line." };
        var socket = ControlClient.SocketOption();
        var limit = new Option<int>("--limit")
        {
            Description = "From the agent: at most this many rows.",
            DefaultValueFactory = _ => 10_000,
        };
        var command = new Command(name, description);
        command.Options.Add(policy);
        command.Options.Add(pcap);
        command.Options.Add(json);
        command.Options.Add(socket);
        command.Options.Add(limit);
        command.SetAction(parse =>
        {
            string? pcapPath = parse.GetValue(pcap);
            string? policyPath = parse.GetValue(policy);
            if (pcapPath is null)
            {
                if (policyPath is not null)
                    throw new CliException("--policy goes with --pcap (the agent has its own policy)", CliException.BadArguments);
                return FromAgent(name, parse.GetValue(socket)!, parse.GetValue(json), parse.GetValue(limit));
            }
            if (policyPath is null)
                throw new CliException("--pcap needs --policy (the policy to replay the capture with)", CliException.BadArguments);
            var loaded = PolicyFile.Load(policyPath, $"policy {policyPath}");
            var counter = new OutputCounter();
            using var session = ReplaySession.Run(loaded, pcapPath, _ => counter);
            using var stdout = Stdout.Open();
            print(session, stdout, parse.GetValue(json), counter);
            return 0;
        });
        return command;
    }

    private static int FromAgent(string command, string socket, bool json, int limit)
    {
        var result = ControlClient.Send(socket, command, w =>
        {
            w.WriteBoolean("text", !json);
            w.WriteNumber("limit", limit);
        });
        using var stdout = Stdout.Open();
        if (json)
        {
            foreach (var row in result.GetProperty("rows").EnumerateArray())
                stdout.WriteLine(row.GetRawText());
        }
        else
        {
            foreach (var line in result.GetProperty("lines").EnumerateArray())
                stdout.WriteLine(line.GetString());
        }
        return 0;
    }
}
