using Offload.Actions;
using Offload.Datapath;
using Offload.Flows;

namespace Offload.Rig;

// The traffic scenarios: oracle first, then the same flows and packets on the device.
public sealed partial class RigRunner
{
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
                var row = r.Flows.First(x => x.Flow.StartsWith(f.Key.ToString(), StringComparison.Ordinal));
                r.Check(row.Placement == "software" && row.Why.Contains(c.ExpectSoftwareBecause, StringComparison.Ordinal),
                    $"flow {row.Flow} stays in software because of {c.ExpectSoftwareBecause} (got {row.Placement}: {row.Why})");
            }
        }
        if (_emu is null)
        {
            FillCounters(device, flows, r);
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
            r.Check(got && stats.Packets == n, $"device counter of {key.ToString()} = {(got ? stats.Packets : -1)} packets, injected {n}");
        }
        FillCounters(device, flows, r);
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
}
