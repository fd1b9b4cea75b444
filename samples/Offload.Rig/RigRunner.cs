using System.Diagnostics;
using System.Reflection;
using Offload.Backends;
using Offload.Backends.Software;
using Offload.Doca;
using Offload.Doca.Backends;
using Offload.Flows;
using Offload.Policy;
using Offload.Switching;

namespace Offload.Rig;

/// <summary>
/// Runs the scenario suite: each scenario drives the software switch (the oracle) for the policy, installs the flows
/// its slow path decided into the backend under test, injects the connection's later packets into the device and
/// requires the device's output frame and port to equal the software fast path's.
/// </summary>
public sealed partial class RigRunner
{
    private const string NoTrafficPort = "injecting packets needs a traffic port on the device, which this host does not have (emulator only)";
    private readonly RigOptions _options;
    private readonly PolicySnapshot _policy;
    private readonly EmulatorDevice? _emu;
    private readonly FlowCompletion[] _buffer = new FlowCompletion[256];
    private readonly string? _unavailable;

    /// <summary>Validates the options, loads the policy and (for the emulator) points the binding at it.</summary>
    public RigRunner(RigOptions options)
    {
        _options = options;
        var load = PolicyLoader.Load(options.PolicyYaml ?? EmbeddedPolicy());
        _policy = load.Snapshot ?? throw new InvalidOperationException("policy rejected: " + string.Join("; ", load.Errors));
        if (options.Backend == "emulator")
        {
            string dir = options.NativeDirectory ?? throw new InvalidOperationException("the emulator backend needs the emulator's directory");
            AppContext.SetData(DocaLibrary.NativeDirectorySwitch, dir);
            DocaLibrary.ThrowIfNotSupported();
            _emu = new EmulatorDevice(dir);
        }
        else if (options.Backend == "doca")
        {
            _unavailable = DocaLibrary.NotSupportedReason;
        }
        else
        {
            throw new ArgumentException($"unknown backend '{options.Backend}' (emulator or doca)");
        }
    }

    /// <summary>The rig's default policy text.</summary>
    public static string EmbeddedPolicy()
    {
        using var s = Assembly.GetExecutingAssembly().GetManifestResourceStream("Offload.Rig.rig-policy.yaml")
            ?? throw new InvalidOperationException("rig-policy.yaml is not embedded");
        using var r = new StreamReader(s);
        return r.ReadToEnd();
    }

    /// <summary>Every scenario name, in run order.</summary>
    public static IReadOnlyList<string> ScenarioNames { get; } =
        [.. TrafficCases.All.Select(c => c.Name), "counters", "aging", "table-full", "device-fatal"];

    /// <summary>Runs the suite (or the one scenario asked for).</summary>
    public RigReport Run()
    {
        var results = new List<ScenarioResult>();
        foreach (string name in ScenarioNames)
        {
            if (_options.Scenario is not null && _options.Scenario != name)
                continue;
            var sw = Stopwatch.StartNew();
            ScenarioResult r = _unavailable is not null ? Unavailable(name) : name switch
            {
                "counters" => Guard(new ScenarioResult(name, "Backends", "per-flow counters read back equal the packets injected"), Counters),
                "aging" => Guard(new ScenarioResult(name, "Backends", "an idle flow is reported AGED on the device's clock, not before its timeout"), Aging),
                "table-full" => Guard(new ScenarioResult(name, "Backends", "a full device table spills the flow to software with reason TableFull"), TableFull),
                "device-fatal" => Guard(new ScenarioResult(name, "Backends", "device fatal: flows keep working in software, re-offloaded after recovery"), DeviceFatal),
                _ => RunTraffic(TrafficCases.All.First(c => c.Name == name)),
            };
            r.Elapsed = sw.Elapsed;
            if (r.Outcome == ScenarioOutcome.Passed && r.Reason.Length == 0)
                r.Reason = $"{r.Checks.Count} checks held";
            results.Add(r);
        }
        if (_options.Scenario is not null && results.Count == 0)
            throw new ArgumentException($"no scenario '{_options.Scenario}' (known: {string.Join(", ", ScenarioNames)})");
        return new RigReport(_options.Backend, _options.PolicyName, results);
    }

    private ScenarioResult Unavailable(string name)
    {
        var r = new ScenarioResult(name, "", "not run");
        r.Skip("DOCA is not available here: " + _unavailable);
        return r;
    }

    private static ScenarioResult Guard(ScenarioResult r, Action<ScenarioResult> body)
    {
        try
        {
            body(r);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            r.Fail($"threw {ex.GetType().Name}: {ex.Message}");
        }
        return r;
    }

    private DocaBackend CreateDevice(IReadOnlyList<InstalledFlow> flows, int maxFlows)
    {
        // A VM-facing port carries one network, so its VNI comes from the flows; the uplink matches the tunnel's VNI.
        var ports = new List<DocaIngressPort> { new(PortRegistry.Uplink) };
        foreach (var f in flows)
        {
            if (f.Key.InPort != PortRegistry.Uplink && !ports.Exists(p => p.Port == f.Key.InPort))
                ports.Add(new DocaIngressPort(f.Key.InPort, f.Key.Vni));
        }
        return new DocaBackend(new DocaBackendOptions { Ports = ports, MaxFlows = maxFlows, QueueDepth = 64 });
    }

    private HashSet<FlowKey> Install(DocaBackend device, IReadOnlyList<InstalledFlow> flows, ScenarioResult r, bool requireHardware)
    {
        var ops = flows.Select(f => FlowOperation.Add(f.Key, f.Action, f.Connection, f.Direction)).ToList();
        var done = device.ApplyAsync(ops).GetAwaiter().GetResult();
        var hardware = new HashSet<FlowKey>();
        foreach (var f in flows)
        {
            var c = done.FirstOrDefault(x => x.Key.Equals(f.Key) && x.Status != FlowCompletionStatus.Aged);
            string flow = f.Key.ToString() + " " + f.Direction;
            if (c.Status == FlowCompletionStatus.Success)
            {
                hardware.Add(f.Key);
                r.Flows.Add(new FlowRow(flow, "hardware", "installed on the device", ""));
            }
            else
            {
                r.Flows.Add(new FlowRow(flow, "software", $"{c.Status}: {c.Detail}", ""));
                if (requireHardware && c.Status != FlowCompletionStatus.Unsupported)
                    r.Fail($"flow {flow} could not be installed: {c.Status} ({c.Detail})");
            }
        }
        return hardware;
    }

    private static void FillCounters(DocaBackend device, IReadOnlyList<InstalledFlow> flows, ScenarioResult r)
    {
        for (int i = 0; i < r.Flows.Count && i < flows.Count; i++)
        {
            string counters = device.TryQueryCounters(flows[i].Key, out var s)
                ? $"device {s.Packets} pkt / {s.Bytes} B"
                : $"software {flows[i].Stats.Packets} pkt / {flows[i].Stats.Bytes} B";
            r.Flows[i] = r.Flows[i] with { Counters = counters };
        }
    }

}
