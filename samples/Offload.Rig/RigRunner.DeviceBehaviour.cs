using Microsoft.Extensions.Time.Testing;
using Offload.Actions;
using Offload.Backends;
using Offload.Backends.Software;
using Offload.Doca.Backends;
using Offload.Flows;
using Offload.Packets;
using Offload.Switching;

namespace Offload.Rig;

// The scenarios about the device itself: counters, aging, table full, device fatal and recovery.
public sealed partial class RigRunner
{
    /// <summary>The same-network connection's flows (both directions), and its data frame from vm1 with the software output.</summary>
    private (SoftwareOracle Oracle, IReadOnlyList<InstalledFlow> Flows, byte[] Frame, OracleOutput Expected) SameNetwork()
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
        FillCounters(device, flows, r);
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
        FillCounters(device, [flow], r);
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
