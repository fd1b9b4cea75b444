using System.CommandLine;
using Offload.Cli.Replay;
using Offload.Policy;

namespace Offload.Cli.Commands;

/// <summary><c>offload policy validate FILE</c>, <c>schema</c>, and the <c>diff</c>, <c>status</c>, <c>check</c> and <c>rollback</c> subcommands.</summary>
internal static class PolicyCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("FILE") { Description = "Policy YAML file." };
        var validate = new Command("validate", "Load and validate a policy file: 'ok: …' and exit 0, or every error as 'path: message' and exit 1.");
        validate.Arguments.Add(file);
        validate.SetAction(parse => Validate(parse.GetValue(file)!, Console.Out));

        var schema = new Command("schema", "Print the JSON Schema of the policy document (for editors and CI linting).");
        schema.SetAction(_ =>
        {
            Console.Out.WriteLine(PolicySchema.Json.TrimEnd());
            return 0;
        });

        var command = new Command("policy", "Work with policies: validate a file, print the schema, diff two policies (and their effect on live flows), and the running agent's policy status, check and rollback.");
        command.Subcommands.Add(validate);
        command.Subcommands.Add(schema);
        command.Subcommands.Add(PolicyDiffCommand.Create());
        command.Subcommands.Add(PolicyAgentCommands.CreateStatus());
        command.Subcommands.Add(PolicyAgentCommands.CreateCheck());
        command.Subcommands.Add(PolicyAgentCommands.CreateRollback());
        return command;
    }

    private static int Validate(string path, TextWriter output)
    {
        var p = PolicyFile.Load(path, path);
        int local = p.Ports.Count(p.IsLocal);
        output.WriteLine(
            $"ok: {p.Networks.Length} networks, {p.Ports.Length} ports ({local} on {p.Host.Name}), {p.Hosts.Length} other hosts, " +
            $"{p.Peerings.Length} peerings, {p.Acl.Rules.Length} ACL rules ({Mode(p)}), {p.SecurityGroups.Length} security groups, " +
            $"{p.LoadBalancers.Length} load balancers ({p.LoadBalancers.Sum(l => l.Backends.Length)} backends), {p.Snat.Length} SNAT, {p.Qos.Length} QoS");
        return 0;
    }

    private static string Mode(PolicySnapshot p) =>
        p.Acl.Mode == Classification.AclMode.AllowList ? "allow-list" : "deny-list";
}
