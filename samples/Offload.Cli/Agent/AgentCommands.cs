using System.Text.Json;
using Microsoft.Extensions.Logging;
using Offload.Cli.Output;
using Offload.Cli.Replay;
using Offload.Conntrack;
using Offload.Hosting;
using Offload.Policy;
using Offload.Switching;

namespace Offload.Cli.Agent;

/// <summary>
/// The agent's control commands: <c>hello</c>, <c>flows</c>, <c>conntrack</c>, <c>stats</c>, <c>policy-status</c>,
/// <c>policy-check</c>, <c>policy-rollback</c>, <c>policy-preview</c>. Each request gets exactly one reply; a
/// failure becomes an error reply.
/// </summary>
internal sealed partial class AgentCommands(OffloadRuntime runtime, AgentPolicy policy, AgentDevices devices, TimeProvider time, ILogger<AgentCommands> logger)
{
    private const int DefaultRows = 10_000;
    private const int MaxRows = 1_000_000;
    private const int MaxSamples = 1_000;

    public async Task<byte[]> HandleAsync(byte[] line, CancellationToken stopping)
    {
        if (!ControlProtocol.TryParse(line, out var request, out string code, out string error))
            return ControlProtocol.Failure(code, error);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        timeout.CancelAfter(ControlProtocol.CommandTimeout);
        try
        {
            return await RunAsync(request, timeout.Token).ConfigureAwait(false);
        }
        catch (ControlException ex)
        {
            return ControlProtocol.Failure(ex.Code, ex.Message);
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
        {
            return ControlProtocol.Failure("timeout", $"'{request.Command}' did not finish within {ControlProtocol.CommandTimeout.TotalSeconds:F0} s");
        }
        catch (InvalidOperationException ex) when (!runtime.IsRunning)
        {
            return ControlProtocol.Failure("stopped", ex.Message);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogCommandFailed(logger, request.Command, ex);
            return ControlProtocol.Failure("internal", $"{request.Command} failed: {ex.GetType().Name}: {ex.Message}");
        }
    }

    private async Task<byte[]> RunAsync(ControlRequest request, CancellationToken cancellationToken)
    {
        switch (request.Command)
        {
            case "hello":
                return ControlProtocol.Success(w =>
                {
                    w.WriteStartObject();
                    w.WriteNumber("version", ControlProtocol.Version);
                    w.WriteString("backend", runtime.BackendName);
                    w.WriteString("slowPath", runtime.SlowPathName);
                    w.WriteNumber("pid", Environment.ProcessId);
                    w.WriteEndObject();
                });
            case "flows":
                return Table(request, (view, output, json, rows) =>
                {
                    Tables.WriteFlows(output, view, time, json, rows);
                    return (int)view.Datapath.GetStats().Flows;
                });
            case "conntrack":
                return Table(request, (view, output, json, rows) =>
                {
                    Tables.WriteConntrack(output, view, json, rows);
                    return view.Conntrack.Count;
                });
            case "stats":
            {
                var ports = runtime.GetPortCounters();
                var outByPort = new Dictionary<ushort, long>();
                foreach (var p in ports)
                {
                    if (p.OutFrames > 0)
                        outByPort[p.Port] = p.OutFrames;
                }
                var interfaces = devices.Pump?.GetStatistics();
                return Table(request, (view, output, json, _) =>
                {
                    Tables.WriteStats(output, view, outByPort, json, ports, interfaces);
                    return 1;
                });
            }
            case "policy-status":
                return ControlProtocol.Success(w =>
                {
                    w.WriteStartObject();
                    w.WriteString("digest", runtime.Policy?.Digest);
                    w.WriteString("backend", runtime.BackendName);
                    w.WriteString("slowPath", runtime.SlowPathName);
                    policy.WriteStatus(w);
                    w.WriteEndObject();
                });
            case "policy-check":
            {
                var outcome = await policy.CheckAsync(cancellationToken).ConfigureAwait(false);
                return ControlProtocol.Success(outcome.Write);
            }
            case "policy-rollback":
            {
                string commit = request.String("commit") ?? throw new ControlException("bad-request", "policy-rollback needs \"commit\"");
                var outcome = await policy.RollbackAsync(commit, cancellationToken).ConfigureAwait(false);
                return ControlProtocol.Success(outcome.Write);
            }
            case "policy-preview":
                return Preview(request);
            default:
                throw new ControlException("unknown-command", $"unknown command '{request.Command}' (hello, flows, conntrack, stats, policy-status, policy-check, policy-rollback, policy-preview)");
        }
    }

    private byte[] Table(ControlRequest request, Func<SwitchView, StringWriter, bool, int, int> write)
    {
        bool text = request.Bool("text");
        int rows = Math.Clamp(request.Int("limit", DefaultRows), 1, MaxRows);
        var output = new StringWriter { NewLine = "\n" };
        int total = runtime.Read(datapath =>
            write(new SwitchView(datapath, n => n == 0 ? null : runtime.Ports.NameOf(n)), output, !text, rows));
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return ControlProtocol.Success(w =>
        {
            w.WriteStartObject();
            w.WriteNumber("total", total);
            w.WriteStartArray(text ? "lines" : "rows");
            foreach (string l in lines)
            {
                if (text)
                    w.WriteStringValue(l);
                else
                    w.WriteRawValue(l);
            }
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    private byte[] Preview(ControlRequest request)
    {
        int samples = Math.Clamp(request.Int("samples", 20), 0, MaxSamples);
        string label;
        PolicySnapshot candidate;
        if (request.String("yaml") is { } yaml)
        {
            var loaded = PolicyLoader.Load(yaml);
            if (loaded.Snapshot is null)
                throw new ControlException("invalid-policy", string.Join("\n", loaded.Errors.Select(PolicyFile.Describe)));
            candidate = loaded.Snapshot;
            label = request.String("label") ?? "the policy sent";
        }
        else if (request.String("ref") is { } reference)
        {
            (label, candidate) = policy.Resolve(reference);
        }
        else
        {
            throw new ControlException("bad-request", "policy-preview needs \"ref\" or \"yaml\"");
        }
        PolicyPreview preview;
        try
        {
            preview = runtime.PreviewPolicy(candidate, samples);
        }
        catch (NotSupportedException ex)
        {
            throw new ControlException("unsupported", ex.Message);
        }
        return ControlProtocol.Success(w =>
        {
            w.WriteStartObject();
            w.WriteString("policy", label);
            w.WriteString("digest", candidate.Digest);
            w.WriteNumber("checked", preview.Checked);
            w.WriteNumber("unchanged", preview.Unchanged);
            w.WriteNumber("updated", preview.Updated);
            w.WriteNumber("removed", preview.Removed);
            w.WriteNumber("dropFlowsRemoved", preview.DropFlowsRemoved);
            w.WriteStartArray("samples");
            foreach (var s in preview.Samples)
            {
                w.WriteStartObject();
                w.WriteString("change", s.Change == PolicyPreviewChange.Updated ? "updated" : "removed");
                w.WriteString("state", s.State.Name());
                w.WriteString("original", s.Original.ToString());
                w.WriteString("reply", s.Reply.ToString());
                w.WriteString("before", s.Before.ToString());
                w.WriteString("after", s.After.ToString());
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        });
    }

    [LoggerMessage(EventId = 2301, Level = LogLevel.Error, Message = "control command {Command} failed")]
    private static partial void LogCommandFailed(ILogger logger, string command, Exception exception);
}
