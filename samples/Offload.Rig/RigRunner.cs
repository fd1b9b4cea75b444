using System.Diagnostics;
using System.Reflection;
using Microsoft.Extensions.Time.Testing;
using Offload.Actions;
using Offload.Backends;
using Offload.Backends.Software;
using Offload.Datapath;
using Offload.Doca;
using Offload.Doca.Backends;
using Offload.Flows;
using Offload.Packets;
using Offload.Policy;
using Offload.Switching;

namespace Offload.Rig;

/// <summary>
/// Runs the scenario suite: each scenario drives the software switch (the oracle) for the policy, installs the flows
/// its slow path decided into the backend under test, injects the connection's later packets into the device and
/// requires the device's output frame and port to equal the software fast path's.
/// </summary>
public sealed class RigRunner
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

    private ScenarioResult RunTraffic(TrafficCase c) =>
        Guard(new ScenarioResult(c.Name, c.Claim, c.Title), r => Traffic(c, r));

    private void Traffic(TrafficCase c, ScenarioResult r)
    {
        using var oracle = new SoftwareOracle(_policy);
        var outputs = Drive(oracle, c.Steps);
        var last = outputs[^1].Result;
        if (c.ExpectDrop)
            r.Check(last.Verdict == ActionVerdict.Drop, $"software drops '{c.Steps[^1].Label}' ({last.Reason.Name()})");
        else
            r.Check(last.Verdict == ActionVerdict.Output && last.OutPort == oracle.Port(c.ExpectOutPort!),
                $"software sends '{c.Steps[^1].Label}' out of {c.ExpectOutPort} (got {last.Verdict} port {oracle.Switch.PortName(last.OutPort) ?? last.OutPort.ToString()}, {last.Reason.Name()})");
        var flows = oracle.Flows;
        if (!r.Check(flows.Count > 0, $"the slow path installed {flows.Count} flow(s) in software"))
            return;

        _emu?.Reset();
        if (_emu is not null)
            _options.Faults?.Invoke(_emu);
        using var device = CreateDevice(flows, maxFlows: 1024);
        var hardware = Install(device, flows, r, requireHardware: c.ExpectSoftwareBecause is null);
        if (c.ExpectSoftwareBecause is not null)
        {
            ushort port = oracle.Port(c.Steps[^1].Port);
            foreach (var f in flows)
            {
                if (f.Key.InPort != port)
                    continue;
                var row = r.Flows.First(x => x.Flow.StartsWith(Describe(oracle, f.Key), StringComparison.Ordinal));
                r.Check(row.Placement == "software" && row.Why.Contains(c.ExpectSoftwareBecause, StringComparison.Ordinal),
                    $"flow {row.Flow} stays in software because of {c.ExpectSoftwareBecause} (got {row.Placement}: {row.Why})");
            }
        }
        if (_emu is null)
        {
            FillCounters(device, flows, r, oracle);
            r.Skip(NoTrafficPort);
            return;
        }

        int compared = 0;
        var injected = new Dictionary<FlowKey, int>();
        for (int i = 0; i < outputs.Count; i++)
        {
            var o = outputs[i];
            if (o.Result.Path != PacketPath.Fast)
                continue;
            if (!hardware.Contains(o.Result.Key))
            {
                r.Ok($"step {i + 1} '{c.Steps[i].Label}': its flow is in software, the device is not asked");
                continue;
            }
            CompareWithDevice(r, oracle, $"step {i + 1} '{c.Steps[i].Label}'", oracle.Port(c.Steps[i].Port), c.Steps[i].Make(outputs), o);
            injected[o.Result.Key] = injected.GetValueOrDefault(o.Result.Key) + 1;
            compared++;
        }
        if (c.ExpectSoftwareBecause is null)
            r.Check(compared > 0, $"{compared} fast-path frame(s) compared with the device");
        foreach (var (key, n) in injected)
        {
            bool got = device.TryQueryCounters(key, out var stats);
            r.Check(got && stats.Packets == n, $"device counter of {Describe(oracle, key)} = {(got ? stats.Packets : -1)} packets, injected {n}");
        }
        FillCounters(device, flows, r, oracle);
    }

    private List<OracleOutput> Drive(SoftwareOracle oracle, TrafficStep[] steps)
    {
        var outputs = new List<OracleOutput>(steps.Length);
        foreach (var s in steps)
            outputs.Add(oracle.Send(oracle.Port(s.Port), s.Make(outputs)));
        return outputs;
    }

    private void CompareWithDevice(ScenarioResult r, SoftwareOracle oracle, string what, ushort inPort, byte[] frame, OracleOutput expected)
    {
        int rc = _emu!.Inject(inPort, frame, out byte[] got, out ushort outPort);
        if (expected.Result.Verdict == ActionVerdict.Drop)
        {
            r.Check(rc == EmulatorDevice.PacketDrop, $"{what}: device {EmulatorDevice.Describe(rc)}, software dropped");
            return;
        }
        byte[] want = _options.ExpectedFrameTamper is { } t ? t(expected.Frame) : expected.Frame;
        if (rc != EmulatorDevice.PacketPort)
        {
            r.Fail($"{what}: device {EmulatorDevice.Describe(rc)}, software forwarded to {oracle.Switch.PortName(expected.Result.OutPort)}");
            return;
        }
        if (outPort != expected.Result.OutPort)
        {
            r.Fail($"{what}: device output port {outPort}, software {expected.Result.OutPort}");
            return;
        }
        byte[] exact = want;
        want = AllowTunnelEntropy(r, what, got, want);
        int diff = FirstDifference(got, want);
        r.Check(diff < 0, diff < 0
            ? $"{what}: device output ({got.Length} bytes, port {outPort}) is byte-identical to the software fast path{(ReferenceEquals(exact, want) ? "" : " apart from the outer UDP source port")}"
            : $"{what}: device output differs from software at byte {diff} (device {got.Length} bytes, software {want.Length}): {Hex(got, diff)} vs {Hex(want, diff)}");
    }

    // The outer UDP source port of VXLAN is flow entropy for underlay ECMP (RFC 7348 section 5): any value in the
    // ephemeral range that is stable per flow is correct, and the DOCA backend leaves it to the device's own hash.
    // The rig accepts a different value there, says so, and still compares every other byte.
    private static byte[] AllowTunnelEntropy(ScenarioResult r, string what, byte[] got, byte[] want)
    {
        bool vxlan = want.Length >= 50 && got.Length == want.Length && want[12] == 0x08 && want[13] == 0x00 && want[23] == 17
            && want[36] == 0x12 && want[37] == 0xb5;
        if (!vxlan || (got[34] == want[34] && got[35] == want[35]))
            return want;
        int dev = (got[34] << 8) | got[35], sw = (want[34] << 8) | want[35];
        r.Check(dev >= 49152, $"{what}: outer VXLAN UDP source port differs (device {dev}, software {sw}): allowed as ECMP entropy, in 49152-65535");
        byte[] copy = (byte[])want.Clone();
        copy[34] = got[34];
        copy[35] = got[35];
        return copy;
    }

    private static int FirstDifference(byte[] a, byte[] b)
    {
        int n = Math.Min(a.Length, b.Length);
        for (int i = 0; i < n; i++)
        {
            if (a[i] != b[i])
                return i;
        }
        return a.Length == b.Length ? -1 : n;
    }

    private static string Hex(byte[] f, int at) =>
        at >= f.Length ? "(end)" : Convert.ToHexString(f.AsSpan(at, Math.Min(8, f.Length - at)));

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
            string flow = Describe(null, f.Key) + " " + f.Direction;
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

    private static void FillCounters(DocaBackend device, IReadOnlyList<InstalledFlow> flows, ScenarioResult r, SoftwareOracle? oracle)
    {
        for (int i = 0; i < r.Flows.Count && i < flows.Count; i++)
        {
            string counters = device.TryQueryCounters(flows[i].Key, out var s)
                ? $"device {s.Packets} pkt / {s.Bytes} B"
                : $"software {flows[i].Stats.Packets} pkt / {flows[i].Stats.Bytes} B";
            r.Flows[i] = r.Flows[i] with { Counters = counters };
        }
        _ = oracle;
    }

    private static string Describe(SoftwareOracle? oracle, in FlowKey key) => key.ToString();

    /// <summary>The same-network connection's flows (both directions), and its data frame from vm1 with the software output.</summary>
    private (SoftwareOracle Oracle, IReadOnlyList<InstalledFlow> Flows, byte[] Frame, OracleOutput Expected) SameNetwork(ushort sport = 40000)
    {
        var c = TrafficCases.All.First(x => x.Name == "same-network");
        var oracle = new SoftwareOracle(_policy);
        var outputs = Drive(oracle, c.Steps);
        return (oracle, oracle.Flows, c.Steps[2].Make(outputs), outputs[2]);
    }

    private void Counters(ScenarioResult r)
    {
        if (_emu is null)
        {
            r.Skip(NoTrafficPort);
            return;
        }
        var (oracle, flows, frame, expected) = SameNetwork();
        using var owned = oracle;
        _emu.Reset();
        using var device = CreateDevice(flows, 1024);
        var hw = Install(device, flows, r, requireHardware: true);
        var key = expected.Result.Key;
        if (!r.Check(hw.Contains(key), "the data flow is on the device"))
            return;
        const int N = 25;
        for (int i = 0; i < N; i++)
            _emu.Inject(oracle.Port("vm1"), frame, out _, out _);
        bool got = device.TryQueryCounters(key, out var stats);
        r.Check(got && stats.Packets == N, $"device counter = {(got ? stats.Packets : -1)} packets after {N} injected");
        r.Check(got && stats.Bytes == (long)N * frame.Length, $"device bytes = {(got ? stats.Bytes : -1)}, injected {N * frame.Length}");
        FillCounters(device, flows, r, oracle);
    }

    private void Aging(ScenarioResult r)
    {
        if (_emu is null)
        {
            r.Skip("the device clock can be driven only on the emulator (emu_set_time_ns)");
            return;
        }
        var (oracle, flows, frame, expected) = SameNetwork();
        using var owned = oracle;
        _emu.Reset();
        _emu.SetTimeNs(1_000_000_000);
        using var device = CreateDevice(flows, 1024);
        var key = expected.Result.Key;
        var flow = flows.First(f => f.Key.Equals(key));
        var done = device.ApplyAsync([FlowOperation.Add(key, flow.Action, flow.Connection, flow.Direction, idleTimeout: TimeSpan.FromSeconds(2))]).GetAwaiter().GetResult();
        if (!r.Check(done.Count == 1 && done[0].Status == FlowCompletionStatus.Success, "flow installed with a 2 s idle timeout"))
            return;
        r.Flows.Add(new FlowRow(key.ToString(), "hardware", "installed with aging 2 s", ""));
        _emu.Inject(oracle.Port("vm1"), frame, out _, out _);
        _emu.AdvanceTimeNs(1_000_000_000);
        r.Check(!PollAged(device, key), "not aged 1 s after its last packet");
        _emu.AdvanceTimeNs(2_000_000_000);
        r.Check(PollAged(device, key), "reported AGED 3 s after its last packet");
        r.Check(device.IsInstalled(key), "aging reports, it does not remove the entry");
        FillCounters(device, [flow], r, oracle);
    }

    private bool PollAged(FlowBackend backend, in FlowKey key)
    {
        bool aged = false;
        for (int round = 0; round < 4; round++)
        {
            int n = backend.PollCompletions(_buffer);
            for (int i = 0; i < n; i++)
                aged |= _buffer[i].Status == FlowCompletionStatus.Aged && _buffer[i].Key.Equals(key);
        }
        return aged;
    }

    private void TableFull(ScenarioResult r)
    {
        if (_emu is null)
        {
            r.Skip("filling the device table on purpose needs the emulator's capacity enforcement");
            return;
        }
        var (oracle, flows, _, _) = SameNetwork();
        using var o = oracle;
        _emu.Reset();
        _emu.SetEnforcePipeCapacity(true);
        ushort vm1 = oracle.Port("vm1");
        // Two flows entering on vm1 against one slot: the second must spill.
        var fromVm1 = flows.Where(f => f.Key.InPort == vm1).ToList();
        var second = oracle.Send(vm1, RigFrames.Tcp(MacAddress.Parse("02:00:00:01:00:01"), MacAddress.Parse("02:00:00:00:ff:fe"), "10.1.0.1", "10.1.0.2", 40100, 8080, flags: 0x02));
        fromVm1.AddRange(oracle.Flows.Where(f => f.Key.InPort == vm1 && f.Key.Equals(second.Result.Key)));
        if (!r.Check(fromVm1.Count == 2, $"two flows from vm1 in software ({fromVm1.Count})"))
            return;
        var clock = new FakeTimeProvider();
        using var resilient = new ResilientOffloadBackend(CreateDevice(fromVm1, maxFlows: 1), new SoftwareBackend(), timeProvider: clock);
        foreach (var f in fromVm1)
            resilient.TrySubmit(FlowOperation.Add(f.Key, f.Action, f.Connection, f.Direction));
        Settle(resilient, clock, fromVm1);
        int hw = 0, full = 0;
        foreach (var f in fromVm1)
        {
            resilient.GetPlacement(f.Key, out var p);
            r.Flows.Add(new FlowRow(f.Key.ToString(), p.Placement == FlowPlacement.Hardware ? "hardware" : "software",
                p.Placement == FlowPlacement.Hardware ? "installed on the device" : $"{p.Reason}: {p.Detail}", ""));
            hw += p.Placement == FlowPlacement.Hardware ? 1 : 0;
            full += p.Placement == FlowPlacement.Software && p.Reason == NotOffloadedReason.TableFull ? 1 : 0;
        }
        r.Check(hw == 1, $"{hw} flow on the device (its one slot)");
        r.Check(full == 1, $"{full} flow spilled to software with reason TableFull");
        r.Check(resilient.Count == 2 && fromVm1.TrueForAll(f => resilient.Software.TryLookup(f.Key, out _, out _) || IsHw(resilient, f.Key)),
            "no flow lost: each is on the device or in the software table");
    }

    private static bool IsHw(ResilientOffloadBackend b, in FlowKey key) => b.GetPlacement(key, out var p) && p.Placement == FlowPlacement.Hardware;

    private void Settle(ResilientOffloadBackend resilient, FakeTimeProvider clock, IReadOnlyList<InstalledFlow> flows, FlowPlacement? until = null)
    {
        for (int round = 0; round < 100; round++)
        {
            resilient.PollCompletions(_buffer);
            bool settled = true;
            foreach (var f in flows)
            {
                resilient.GetPlacement(f.Key, out var p);
                settled &= until is { } u ? p.Placement == u : p.Reason != NotOffloadedReason.Pending;
            }
            if (settled)
                return;
            clock.Advance(TimeSpan.FromMilliseconds(100));
        }
    }

    private void DeviceFatal(ScenarioResult r)
    {
        if (_emu is null)
        {
            r.Skip("killing the device on purpose needs the emulator's fault injection");
            return;
        }
        var (oracle, flows, frame, expected) = SameNetwork();
        using var o = oracle;
        _emu.Reset();
        var clock = new FakeTimeProvider();
        var device = CreateDevice(flows, 1024);
        using var resilient = new ResilientOffloadBackend(device, new SoftwareBackend(), timeProvider: clock);
        foreach (var f in flows)
            resilient.TrySubmit(FlowOperation.Add(f.Key, f.Action, f.Connection, f.Direction));
        Settle(resilient, clock, flows);
        var key = expected.Result.Key;
        ushort vm1 = oracle.Port("vm1");
        if (!r.Check(IsHw(resilient, key), "the data flow starts on the device"))
            return;
        CompareWithDevice(r, oracle, "before the fault", vm1, frame, expected);

        foreach (var f in flows)
            _emu.SetDeviceFatal(f.Key.InPort, true);
        _emu.SetDeviceFatal(PortRegistry.Uplink, true);
        Settle(resilient, clock, flows, FlowPlacement.Software);
        resilient.GetPlacement(key, out var down);
        r.Check(down.Placement == FlowPlacement.Software, $"after the fault the flow is in software ({down.Reason}: {down.Detail})");
        if (r.Check(resilient.Software.TryLookup(key, out _, out var entry) && resilient.Software.GetProgram(entry.ProgramId) is not null,
            "the software table holds the flow with its action program"))
        {
            // Run the packet through what the fallback holds: it must still produce the oracle's frame and port.
            var buf = PacketBuffer.CopyOf(frame);
            PacketParser.Parse(buf.Span, out var packet);
            var outcome = ActionExecutor.Apply(resilient.Software.GetProgram(entry.ProgramId)!, entry.Nat, ref buf, ref packet, 0, null, 0);
            r.Check(outcome.Verdict == ActionVerdict.Output && outcome.OutPort == expected.Result.OutPort && buf.Span.SequenceEqual(expected.Frame),
                $"during the fault the software fallback's action gives the oracle's frame and port ({outcome.Verdict} port {outcome.OutPort})");
        }
        r.Check(resilient.Count == flows.Count, $"no flow lost ({resilient.Count} of {flows.Count})");
        r.Flows.Add(new FlowRow(key.ToString() + " (during the fault)", "software", $"{down.Reason}: {down.Detail}", ""));

        foreach (var f in flows)
            _emu.SetDeviceFatal(f.Key.InPort, false);
        _emu.SetDeviceFatal(PortRegistry.Uplink, false);
        Settle(resilient, clock, flows, FlowPlacement.Hardware);
        resilient.GetPlacement(key, out var up);
        r.Check(up.Placement == FlowPlacement.Hardware, $"after recovery the flow is re-offloaded ({up.Placement}, {up.Reason})");
        r.Flows.Add(new FlowRow(key.ToString() + " (after recovery)", up.Placement == FlowPlacement.Hardware ? "hardware" : "software",
            up.Placement == FlowPlacement.Hardware ? "re-offloaded" : $"{up.Reason}: {up.Detail}", ""));
        if (up.Placement == FlowPlacement.Hardware)
            CompareWithDevice(r, oracle, "after recovery", vm1, frame, expected);
    }
}
